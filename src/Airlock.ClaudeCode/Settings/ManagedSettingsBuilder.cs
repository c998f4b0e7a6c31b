using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Airlock.ClaudeCode.SecretFiles;

namespace Airlock.ClaudeCode.Settings;

/// <summary>Which front door of the gateway Claude Code talks to.</summary>
public enum GatewayMode
{
    /// <summary>Anthropic Messages API shape: <c>ANTHROPIC_BASE_URL</c>.</summary>
    Messages,

    /// <summary>Bedrock shape: <c>CLAUDE_CODE_USE_BEDROCK</c>, <c>ANTHROPIC_BEDROCK_BASE_URL</c>, AWS auth skipped.</summary>
    Bedrock,

    /// <summary>Vertex shape: <c>CLAUDE_CODE_USE_VERTEX</c>, <c>ANTHROPIC_VERTEX_BASE_URL</c>, Google auth skipped.</summary>
    Vertex,
}

/// <summary>Inputs of <c>airlock claude-code setup</c>.</summary>
public sealed record ManagedSettingsOptions
{
    /// <summary>The gateway's public base URL (no trailing slash needed).</summary>
    public required Uri Gateway { get; init; }

    public GatewayMode Mode { get; init; } = GatewayMode.Messages;

    /// <summary>Absolute path of <c>airlock-hook</c> on developer machines.</summary>
    public required string HookCommand { get; init; }

    /// <summary>The secret-file list (built-in plus the organization's additions).</summary>
    public required SecretFileList DenyFiles { get; init; }

    /// <summary>MCP server names developers may use; empty: no allowlist.</summary>
    public IReadOnlyList<string> AllowedMcpServers { get; init; } = [];

    public int CleanupPeriodDays { get; init; } = 14;

    /// <summary>Only managed permission rules count (user/project allow rules are ignored).</summary>
    public bool ManagedPermissionRulesOnly { get; init; }

    /// <summary>Only managed hooks run (user/project hooks are ignored).</summary>
    public bool ManagedHooksOnly { get; init; }

    /// <summary>Only the managed MCP allowlist applies.</summary>
    public bool ManagedMcpServersOnly { get; init; }

    /// <summary>Concrete model names served by the organization's routes (for <c>ANTHROPIC_DEFAULT_*_MODEL</c>).</summary>
    public IReadOnlyList<string> RoutedModels { get; init; } = [];

    /// <summary>Vertex project id Claude Code puts in the path (the gateway ignores or maps it).</summary>
    public string VertexProject { get; init; } = "airlock";

    /// <summary>Vertex region Claude Code puts in the path.</summary>
    public string VertexRegion { get; init; } = "global";

    /// <summary>AWS region Claude Code uses for Bedrock model ids.</summary>
    public string BedrockRegion { get; init; } = "us-east-1";

    /// <summary>Servers for <c>managed-mcp.json</c>; empty: that file is not written.</summary>
    public IReadOnlyList<ManagedMcpServer> McpServers { get; init; } = [];
}

/// <summary>An MCP server the organization provides (one entry of <c>managed-mcp.json</c>).</summary>
/// <param name="Name">Server name (tools are named <c>mcp__NAME__tool</c>).</param>
/// <param name="Transport"><c>stdio</c>, <c>http</c> or <c>sse</c>.</param>
/// <param name="Url">Endpoint of a remote server.</param>
/// <param name="Command">Program of a local server.</param>
/// <param name="Args">Arguments of a local server.</param>
/// <param name="Env">Environment of a local server (<c>${VAR}</c> references).</param>
/// <param name="Headers">Headers of a remote server (<c>${VAR}</c> references).</param>
public sealed record ManagedMcpServer(
    string Name,
    string Transport,
    Uri? Url,
    string? Command,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// The generated files: the main managed settings, the hooks fragment (no key appears in both), and
/// <c>managed-mcp.json</c> when the organization lists MCP servers (null otherwise).
/// </summary>
public sealed record ManagedSettings(JsonObject Main, JsonObject HooksFragment, JsonObject? ManagedMcp = null)
{
    /// <summary>File name of the fragment inside <c>managed-settings.d/</c>.</summary>
    public const string FragmentName = "50-airlock-hooks.json";

    /// <summary>File name of the managed MCP configuration, next to <c>managed-settings.json</c>.</summary>
    public const string ManagedMcpName = "managed-mcp.json";

    /// <summary>Both files as one settings object (what <c>--settings</c> takes in tests and trials).</summary>
    public JsonObject Combined()
    {
        var combined = (JsonObject)Main.DeepClone();
        foreach (var (name, value) in HooksFragment)
        {
            combined[name] = value?.DeepClone();
        }
        return combined;
    }

    public static string ToText(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        // Relaxed escaping keeps quotes and '+' readable for the administrators who review these files.
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }
}

/// <summary>
/// Builds Claude Code managed settings for a fleet that goes through an Airlock gateway. Every key emitted is
/// a documented Claude Code setting (settings reference, permissions, hooks and environment variable pages):
/// <c>env</c>, <c>apiKeyHelper</c>, <c>permissions.deny</c>, <c>permissions.disableBypassPermissionsMode</c>,
/// <c>allowManagedPermissionRulesOnly</c>, <c>allowManagedHooksOnly</c>, <c>allowManagedMcpServersOnly</c>,
/// <c>allowedMcpServers</c>, <c>cleanupPeriodDays</c>, <c>hooks</c>.
/// </summary>
public static class ManagedSettingsBuilder
{
    /// <summary>Tools whose calls the PreToolUse hook checks: the file tools and Bash.</summary>
    public const string PreToolUseMatcher = "Read|NotebookRead|Edit|MultiEdit|Write|NotebookEdit|Grep|Bash";

    /// <summary>Shell programs whose file arguments print or copy content; each gets a Bash deny rule per secret-file name.</summary>
    public static readonly IReadOnlyList<string> BashReaders = ["cat", "head", "tail", "less", "more"];

    /// <summary>Seconds Claude Code waits for the hook. The hook answers within about a second even when the
    /// gateway is unreachable; the margin matters because a hook that times out fails open.</summary>
    public const int HookTimeoutSeconds = 15;

    public static ManagedSettings Build(ManagedSettingsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var gateway = options.Gateway.ToString().TrimEnd('/');
        var main = new JsonObject
        {
            ["env"] = Environment(options, gateway),
            ["apiKeyHelper"] = $"{Quote(options.HookCommand)} api-key --gateway {gateway}",
            ["permissions"] = new JsonObject
            {
                ["deny"] = ToArray(DenyRules(options.DenyFiles)),
                ["disableBypassPermissionsMode"] = "disable",
            },
            ["cleanupPeriodDays"] = options.CleanupPeriodDays,
        };
        if (options.AllowedMcpServers.Count > 0)
        {
            var servers = new JsonArray();
            foreach (var name in options.AllowedMcpServers)
            {
                servers.Add((JsonNode)new JsonObject { ["serverName"] = name });
            }
            main["allowedMcpServers"] = servers;
        }
        if (options.ManagedPermissionRulesOnly)
        {
            main["allowManagedPermissionRulesOnly"] = true;
        }
        if (options.ManagedHooksOnly)
        {
            main["allowManagedHooksOnly"] = true;
        }
        if (options.ManagedMcpServersOnly)
        {
            main["allowManagedMcpServersOnly"] = true;
        }
        return new ManagedSettings(main, new JsonObject { ["hooks"] = Hooks(options, gateway) },
            options.McpServers.Count > 0 ? ManagedMcp(options.McpServers) : null);
    }

    /// <summary>
    /// <c>managed-mcp.json</c>: the same <c>mcpServers</c> shape as a project's <c>.mcp.json</c>. Installed in the
    /// managed settings folder it takes exclusive control: Claude Code loads exactly these servers.
    /// </summary>
    public static JsonObject ManagedMcp(IEnumerable<ManagedMcpServer> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var entries = new JsonObject();
        foreach (var server in servers)
        {
            var entry = new JsonObject { ["type"] = server.Transport };
            if (server.Transport == "stdio")
            {
                entry["command"] = server.Command;
                entry["args"] = ToArray(server.Args);
                if (server.Env.Count > 0)
                {
                    entry["env"] = ToObject(server.Env);
                }
            }
            else
            {
                entry["url"] = server.Url?.ToString();
                if (server.Headers.Count > 0)
                {
                    entry["headers"] = ToObject(server.Headers);
                }
            }
            entries[server.Name] = entry;
        }
        return new JsonObject { ["mcpServers"] = entries };
    }

    private static JsonObject ToObject(IReadOnlyDictionary<string, string> values)
    {
        var result = new JsonObject();
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            result[name] = value;
        }
        return result;
    }

    /// <summary>
    /// Deny rules from the secret-file list. Read rules also stop Edit/Write and the shell readers Claude Code
    /// recognises; Edit rules are emitted as well (NotebookEdit is not covered by Read rules). <c>**/NAME</c>
    /// matches at any depth under the project; home-relative credentials get a <c>~/</c> rule too. The Bash
    /// rules are the explicit first line for <c>cat .env</c>; the hook checks every other spelling.
    /// </summary>
    public static List<string> DenyRules(SecretFileList files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var rules = new List<string>();
        foreach (var pattern in files.Patterns)
        {
            foreach (var tool in (string[])["Read", "Edit"])
            {
                rules.Add($"{tool}(**/{pattern})");
                if (pattern.Contains('/', StringComparison.Ordinal) || pattern.StartsWith('.'))
                {
                    rules.Add($"{tool}(~/{pattern})");
                }
            }
        }
        foreach (var pattern in files.Patterns.Where(p => !p.Contains('/', StringComparison.Ordinal)))
        {
            foreach (var reader in BashReaders)
            {
                // "cat .env" and "cat ./config/.env": the name preceded by a space or a slash.
                rules.Add($"Bash({reader} {pattern})");
                rules.Add($"Bash({reader} *{(pattern.StartsWith('*') ? "" : "/")}{pattern})");
            }
        }
        return rules.Distinct(StringComparer.Ordinal).ToList();
    }

    private static JsonObject Environment(ManagedSettingsOptions options, string gateway)
    {
        var env = new JsonObject();
        switch (options.Mode)
        {
            case GatewayMode.Messages:
                env["ANTHROPIC_BASE_URL"] = gateway;
                break;
            case GatewayMode.Bedrock:
                env["CLAUDE_CODE_USE_BEDROCK"] = "1";
                env["ANTHROPIC_BEDROCK_BASE_URL"] = gateway + "/bedrock";
                env["CLAUDE_CODE_SKIP_BEDROCK_AUTH"] = "1";
                env["AWS_REGION"] = options.BedrockRegion;
                break;
            case GatewayMode.Vertex:
                env["CLAUDE_CODE_USE_VERTEX"] = "1";
                env["ANTHROPIC_VERTEX_BASE_URL"] = gateway + "/vertex/v1";
                env["CLAUDE_CODE_SKIP_VERTEX_AUTH"] = "1";
                env["ANTHROPIC_VERTEX_PROJECT_ID"] = options.VertexProject;
                env["CLOUD_ML_REGION"] = options.VertexRegion;
                break;
        }
        // No update checks, telemetry, error reports or release notes: nothing leaves except through the gateway.
        env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
        env["DISABLE_TELEMETRY"] = "1";
        env["DISABLE_ERROR_REPORTING"] = "1";
        foreach (var (family, variable) in (ReadOnlySpan<(string, string)>)[("opus", "ANTHROPIC_DEFAULT_OPUS_MODEL"), ("sonnet", "ANTHROPIC_DEFAULT_SONNET_MODEL"), ("haiku", "ANTHROPIC_DEFAULT_HAIKU_MODEL")])
        {
            var model = options.RoutedModels.FirstOrDefault(m => m.Contains(family, StringComparison.OrdinalIgnoreCase) && !m.Contains('*', StringComparison.Ordinal) && !m.Contains('?', StringComparison.Ordinal));
            if (model is not null)
            {
                env[variable] = model;
            }
        }
        return env;
    }

    private static JsonObject Hooks(ManagedSettingsOptions options, string gateway)
    {
        var command = $"{Quote(options.HookCommand)} --gateway {gateway}";
        JsonArray Entry(string? matcher)
        {
            var entry = new JsonObject();
            if (matcher is not null)
            {
                entry["matcher"] = matcher;
            }
            entry["hooks"] = new JsonArray(new JsonObject { ["type"] = "command", ["command"] = command, ["timeout"] = HookTimeoutSeconds });
            return [entry];
        }
        return new JsonObject
        {
            ["PreToolUse"] = Entry(PreToolUseMatcher),
            ["PostToolUse"] = Entry("*"),
            ["UserPromptSubmit"] = Entry(null),
            ["SessionStart"] = Entry(null),
            ["SessionEnd"] = Entry(null),
            ["Stop"] = Entry(null),
        };
    }

    /// <summary>Double-quotes a path for the shell Claude Code runs hook commands with, when it needs it (spaces on Windows/macOS).</summary>
    public static string Quote(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length > 0 && path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '+' or ':' or '~'))
        {
            return path;
        }
        return "\"" + path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    private static JsonArray ToArray(IEnumerable<string> values)
    {
        var array = new JsonArray();
        foreach (var value in values)
        {
            array.Add((JsonNode)JsonValue.Create(value));
        }
        return array;
    }
}

/// <summary>Where managed settings live on each OS (Claude Code's managed-settings documentation).</summary>
public static class ManagedSettingsPaths
{
    public const string Linux = "/etc/claude-code";
    public const string MacOS = "/Library/Application Support/ClaudeCode";
    public const string Windows = @"C:\Program Files\ClaudeCode";

    /// <summary>The managed settings folder of the OS this runs on.</summary>
    public static string ForCurrentOs() => OperatingSystem.IsWindows() ? Windows : OperatingSystem.IsMacOS() ? MacOS : Linux;

    /// <summary>Where airlock-hook is expected on each OS (what the generated commands name by default).</summary>
    public static string DefaultHookCommand() => OperatingSystem.IsWindows() ? @"C:\Program Files\Airlock\airlock-hook.exe" : "/usr/local/bin/airlock-hook";
}
