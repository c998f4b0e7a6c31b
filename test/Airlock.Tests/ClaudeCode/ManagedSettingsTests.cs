using System.Text.Json.Nodes;
using Airlock.ClaudeCode.SecretFiles;
using Airlock.ClaudeCode.Settings;

namespace Airlock.Tests.ClaudeCode;

public sealed class ManagedSettingsTests
{
    private static readonly Uri Gateway = new("https://airlock.example.com/");

    /// <summary>Top-level keys documented in Claude Code's settings reference; anything else is an invented setting.</summary>
    private static readonly HashSet<string> DocumentedKeys =
    [
        "env", "apiKeyHelper", "permissions", "cleanupPeriodDays", "allowedMcpServers", "allowManagedPermissionRulesOnly",
        "allowManagedHooksOnly", "allowManagedMcpServersOnly", "hooks",
    ];

    [Fact]
    public void Messages_mode_points_claude_code_at_the_gateway_and_turns_nonessential_traffic_off()
    {
        var settings = Build();
        var env = settings.Main["env"]!.AsObject();
        Assert.Equal("https://airlock.example.com", env["ANTHROPIC_BASE_URL"]!.GetValue<string>());
        Assert.Equal("1", env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]!.GetValue<string>());
        Assert.Equal("1", env["DISABLE_TELEMETRY"]!.GetValue<string>());
        Assert.Equal("1", env["DISABLE_ERROR_REPORTING"]!.GetValue<string>());
        Assert.Null(env["CLAUDE_CODE_USE_BEDROCK"]);
        Assert.Equal("/usr/local/bin/airlock-hook api-key --gateway https://airlock.example.com", settings.Main["apiKeyHelper"]!.GetValue<string>());
        Assert.Equal("disable", settings.Main["permissions"]!["disableBypassPermissionsMode"]!.GetValue<string>());
        Assert.Equal(14, settings.Main["cleanupPeriodDays"]!.GetValue<int>());
    }

    [Fact]
    public void Bedrock_and_vertex_modes_use_their_doors_with_cloud_auth_skipped()
    {
        var bedrock = Build(o => o with { Mode = GatewayMode.Bedrock }).Main["env"]!.AsObject();
        Assert.Equal("1", bedrock["CLAUDE_CODE_USE_BEDROCK"]!.GetValue<string>());
        Assert.Equal("https://airlock.example.com/bedrock", bedrock["ANTHROPIC_BEDROCK_BASE_URL"]!.GetValue<string>());
        Assert.Equal("1", bedrock["CLAUDE_CODE_SKIP_BEDROCK_AUTH"]!.GetValue<string>());
        Assert.Null(bedrock["ANTHROPIC_BASE_URL"]);

        var vertex = Build(o => o with { Mode = GatewayMode.Vertex, VertexProject = "acme", VertexRegion = "europe-west1" }).Main["env"]!.AsObject();
        Assert.Equal("1", vertex["CLAUDE_CODE_USE_VERTEX"]!.GetValue<string>());
        Assert.Equal("https://airlock.example.com/vertex/v1", vertex["ANTHROPIC_VERTEX_BASE_URL"]!.GetValue<string>());
        Assert.Equal("1", vertex["CLAUDE_CODE_SKIP_VERTEX_AUTH"]!.GetValue<string>());
        Assert.Equal("acme", vertex["ANTHROPIC_VERTEX_PROJECT_ID"]!.GetValue<string>());
        Assert.Equal("europe-west1", vertex["CLOUD_ML_REGION"]!.GetValue<string>());
    }

    [Fact]
    public void Deny_rules_come_from_the_one_secret_file_list_for_read_edit_and_bash_readers()
    {
        var files = SecretFileList.WithAdditions(["*.secret"]);
        var deny = Build(o => o with { DenyFiles = files }).Main["permissions"]!["deny"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        foreach (var pattern in files.Patterns)
        {
            Assert.Contains($"Read(**/{pattern})", deny);
            Assert.Contains($"Edit(**/{pattern})", deny);
        }
        Assert.Contains("Read(~/.aws/credentials)", deny);
        Assert.Contains("Bash(cat .env)", deny);
        Assert.Contains("Bash(cat */.env)", deny);
        Assert.Contains("Bash(head *.pem)", deny);
        Assert.Contains("Read(**/*.secret)", deny);
        Assert.Equal(deny.Count, deny.Distinct().Count());
        Assert.All(deny, rule => Assert.Matches(@"^(Read|Edit|Bash)\([^()]+\)$", rule));
    }

    [Fact]
    public void Every_emitted_key_is_a_documented_setting_and_no_key_is_in_both_files()
    {
        var settings = Build(o => o with
        {
            AllowedMcpServers = ["github"],
            ManagedHooksOnly = true,
            ManagedPermissionRulesOnly = true,
            ManagedMcpServersOnly = true,
        });
        Assert.All(settings.Combined().Select(p => p.Key), key => Assert.Contains(key, DocumentedKeys));
        Assert.Empty(settings.Main.Select(p => p.Key).Intersect(settings.HooksFragment.Select(p => p.Key)));
        Assert.Equal("github", settings.Main["allowedMcpServers"]![0]!["serverName"]!.GetValue<string>());
        Assert.True(settings.Main["allowManagedHooksOnly"]!.GetValue<bool>());
    }

    [Fact]
    public void Locks_and_the_mcp_allowlist_are_left_out_unless_asked_for()
    {
        var main = Build().Main;
        Assert.Null(main["allowedMcpServers"]);
        Assert.Null(main["allowManagedHooksOnly"]);
        Assert.Null(main["allowManagedPermissionRulesOnly"]);
        Assert.Null(main["allowManagedMcpServersOnly"]);
    }

    [Fact]
    public void Hooks_cover_the_file_tools_and_bash_before_and_every_tool_after()
    {
        var hooks = Build().HooksFragment["hooks"]!.AsObject();
        Assert.Equal(["PreToolUse", "PostToolUse", "UserPromptSubmit", "SessionStart", "SessionEnd", "Stop"], hooks.Select(h => h.Key));
        var pre = hooks["PreToolUse"]![0]!;
        Assert.Equal(ManagedSettingsBuilder.PreToolUseMatcher, pre["matcher"]!.GetValue<string>());
        foreach (var tool in (string[])["Read", "Edit", "Write", "Bash", "Grep"])
        {
            Assert.Contains(tool, pre["matcher"]!.GetValue<string>().Split('|'));
        }
        Assert.Equal("*", hooks["PostToolUse"]![0]!["matcher"]!.GetValue<string>());
        var command = pre["hooks"]![0]!;
        Assert.Equal("command", command["type"]!.GetValue<string>());
        Assert.Equal("/usr/local/bin/airlock-hook --gateway https://airlock.example.com", command["command"]!.GetValue<string>());
        Assert.Equal(ManagedSettingsBuilder.HookTimeoutSeconds, command["timeout"]!.GetValue<int>());
    }

    [Fact]
    public void Model_defaults_follow_the_organizations_concrete_route_names()
    {
        var env = Build(o => o with { RoutedModels = ["claude-*", "corp-opus-5", "corp-sonnet-5", "claude-haiku-*"] }).Main["env"]!.AsObject();
        Assert.Equal("corp-opus-5", env["ANTHROPIC_DEFAULT_OPUS_MODEL"]!.GetValue<string>());
        Assert.Equal("corp-sonnet-5", env["ANTHROPIC_DEFAULT_SONNET_MODEL"]!.GetValue<string>());
        Assert.Null(env["ANTHROPIC_DEFAULT_HAIKU_MODEL"]);
    }

    [Fact]
    public void Hook_paths_with_spaces_are_quoted_and_the_text_stays_readable()
    {
        var settings = Build(o => o with { HookCommand = @"C:\Program Files\Airlock\airlock-hook.exe" });
        var helper = settings.Main["apiKeyHelper"]!.GetValue<string>();
        Assert.StartsWith("\"C:\\\\Program Files\\\\Airlock\\\\airlock-hook.exe\" api-key", helper, StringComparison.Ordinal);
        var text = ManagedSettings.ToText(settings.Main);
        Assert.DoesNotContain("\\u0022", text, StringComparison.Ordinal);
        Assert.NotNull(JsonNode.Parse(text));
    }

    [Fact]
    public void Managed_mcp_lists_exactly_the_organizations_servers_in_the_mcp_json_shape()
    {
        Assert.Null(Build().ManagedMcp);
        var headers = new Dictionary<string, string> { ["Authorization"] = "Bearer ${GITHUB_MCP_TOKEN}" };
        var env = new Dictionary<string, string> { ["SENTRY_AUTH_TOKEN"] = "${SENTRY_AUTH_TOKEN}", ["REGION"] = "eu" };
        var settings = Build(o => o with
        {
            McpServers =
            [
                new ManagedMcpServer("github", "http", new Uri("https://mcp.internal.example.com/github"), null, [], new Dictionary<string, string>(), headers),
                new ManagedMcpServer("sentry", "stdio", null, "/opt/mcp/sentry", ["--read-only"], env, new Dictionary<string, string>()),
            ],
        });
        var servers = JsonNode.Parse(ManagedSettings.ToText(settings.ManagedMcp!))!["mcpServers"]!.AsObject();
        Assert.Equal(["github", "sentry"], servers.Select(s => s.Key));
        Assert.Equal("http", servers["github"]!["type"]!.GetValue<string>());
        Assert.Equal("https://mcp.internal.example.com/github", servers["github"]!["url"]!.GetValue<string>());
        Assert.Equal("Bearer ${GITHUB_MCP_TOKEN}", servers["github"]!["headers"]!["Authorization"]!.GetValue<string>());
        Assert.Null(servers["github"]!["command"]);
        Assert.Equal("/opt/mcp/sentry", servers["sentry"]!["command"]!.GetValue<string>());
        Assert.Equal(["--read-only"], servers["sentry"]!["args"]!.AsArray().Select(a => a!.GetValue<string>()));
        // Sorted by name so the generated file is stable across runs (reviewable diffs in a fleet repository).
        Assert.Equal(["REGION", "SENTRY_AUTH_TOKEN"], servers["sentry"]!["env"]!.AsObject().Select(e => e.Key));
        Assert.Null(servers["sentry"]!["url"]);
        // The managed-mcp file is separate: the settings files carry no server definitions.
        Assert.Null(settings.Main["mcpServers"]);
    }

    private static ManagedSettings Build(Func<ManagedSettingsOptions, ManagedSettingsOptions>? change = null)
    {
        var options = new ManagedSettingsOptions
        {
            Gateway = Gateway,
            HookCommand = "/usr/local/bin/airlock-hook",
            DenyFiles = SecretFileList.BuiltIn,
        };
        return ManagedSettingsBuilder.Build(change?.Invoke(options) ?? options);
    }
}
