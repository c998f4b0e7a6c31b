using System.CommandLine;
using Airlock.ClaudeCode.SecretFiles;
using Airlock.ClaudeCode.Settings;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock claude-code setup</c>: managed settings for a fleet that goes through this gateway.</summary>
internal static class ClaudeCodeCommand
{
    public static Command Create()
    {
        var command = new Command("claude-code", "Claude Code endpoint controls: managed settings and hooks for a fleet");
        command.Subcommands.Add(SetupCommand());
        return command;
    }

    private static Command SetupCommand()
    {
        var gateway = new Option<string>("--gateway") { Description = "The gateway's public base URL (https://airlock.example.com)", Required = true };
        var mode = new Option<string>("--mode") { Description = "Front door Claude Code uses: messages (default), bedrock or vertex", DefaultValueFactory = _ => "messages" };
        mode.AcceptOnlyFromAmong("messages", "bedrock", "vertex");
        var output = new Option<string>("--out") { Description = "Folder to write the files into", DefaultValueFactory = _ => "./claude-code-managed" };
        var hook = new Option<string>("--hook-command") { Description = "Path of airlock-hook on developer machines", DefaultValueFactory = _ => ManagedSettingsPaths.DefaultHookCommand() };
        var rulesOnly = new Option<bool>("--managed-permission-rules-only") { Description = "Ignore permission rules from user and project settings (allowManagedPermissionRulesOnly)" };
        var hooksOnly = new Option<bool>("--managed-hooks-only") { Description = "Run only managed hooks (allowManagedHooksOnly)" };
        var mcpOnly = new Option<bool>("--managed-mcp-only") { Description = "Only the managed MCP allowlist applies (allowManagedMcpServersOnly)" };
        var vertexProject = new Option<string>("--vertex-project") { Description = "Vertex mode: project id Claude Code puts in its paths", DefaultValueFactory = _ => "airlock" };
        var vertexRegion = new Option<string>("--vertex-region") { Description = "Vertex mode: region (CLOUD_ML_REGION)", DefaultValueFactory = _ => "global" };
        var awsRegion = new Option<string>("--aws-region") { Description = "Bedrock mode: AWS_REGION for model ids", DefaultValueFactory = _ => "us-east-1" };
        var setup = new Command("setup", "Write managed-settings.json and the managed-settings.d hooks fragment for Claude Code")
        {
            gateway, mode, output, hook, rulesOnly, hooksOnly, mcpOnly, vertexProject, vertexRegion, awsRegion,
        };
        setup.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var gatewayText = parse.GetValue(gateway)!;
            if (!Uri.TryCreate(gatewayText, UriKind.Absolute, out var gatewayUri) || (gatewayUri.Scheme != "https" && gatewayUri.Scheme != "http")
                || !string.IsNullOrEmpty(gatewayUri.Query) || !string.IsNullOrEmpty(gatewayUri.UserInfo))
            {
                await Console.Error.WriteLineAsync($"--gateway: '{gatewayText}' must be an absolute http(s) URL without credentials or query");
                return 2;
            }
            var config = CommonOptions.Load(parse);
            var settings = ManagedSettingsBuilder.Build(new ManagedSettingsOptions
            {
                Gateway = gatewayUri,
                Mode = parse.GetValue(mode) switch { "bedrock" => GatewayMode.Bedrock, "vertex" => GatewayMode.Vertex, _ => GatewayMode.Messages },
                HookCommand = parse.GetValue(hook)!,
                DenyFiles = SecretFileList.WithAdditions(config.ClaudeCode.DenyFiles),
                AllowedMcpServers = config.ClaudeCode.AllowedMcpServers,
                CleanupPeriodDays = config.ClaudeCode.CleanupPeriodDays,
                ManagedPermissionRulesOnly = parse.GetValue(rulesOnly),
                ManagedHooksOnly = parse.GetValue(hooksOnly),
                ManagedMcpServersOnly = parse.GetValue(mcpOnly),
                RoutedModels = config.Routes.SelectMany(r => r.Models).ToList(),
                VertexProject = parse.GetValue(vertexProject)!,
                VertexRegion = parse.GetValue(vertexRegion)!,
                BedrockRegion = parse.GetValue(awsRegion)!,
                McpServers = config.ClaudeCode.McpServers
                    .Select(m => new ManagedMcpServer(m.Name, m.Transport, m.Url, m.Command, m.Args, m.Env, m.Headers)).ToList(),
            });
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var fragmentDir = Path.Combine(outDir, "managed-settings.d");
            Directory.CreateDirectory(fragmentDir);
            var mainPath = Path.Combine(outDir, "managed-settings.json");
            var fragmentPath = Path.Combine(fragmentDir, ManagedSettings.FragmentName);
            await File.WriteAllTextAsync(mainPath, ManagedSettings.ToText(settings.Main), cancellationToken);
            await File.WriteAllTextAsync(fragmentPath, ManagedSettings.ToText(settings.HooksFragment), cancellationToken);

            var deny = settings.Main["permissions"]!["deny"]!.AsArray().Count;
            Console.WriteLine($"wrote {mainPath}");
            Console.WriteLine($"      (env for the {parse.GetValue(mode)} door, apiKeyHelper, {deny} deny rules, bypass mode disabled, cleanupPeriodDays {config.ClaudeCode.CleanupPeriodDays}"
                + (config.ClaudeCode.AllowedMcpServers.Count > 0 ? $", {config.ClaudeCode.AllowedMcpServers.Count} allowed MCP servers)" : ")"));
            Console.WriteLine($"wrote {fragmentPath}");
            Console.WriteLine("      (hooks: PreToolUse, PostToolUse, UserPromptSubmit, SessionStart, SessionEnd, Stop → airlock-hook)");
            var mcpPath = Path.Combine(outDir, ManagedSettings.ManagedMcpName);
            if (settings.ManagedMcp is { } managedMcp)
            {
                await File.WriteAllTextAsync(mcpPath, ManagedSettings.ToText(managedMcp), cancellationToken);
                Console.WriteLine($"wrote {mcpPath}");
                Console.WriteLine($"      ({config.ClaudeCode.McpServers.Count} MCP servers; installed, Claude Code uses exactly these)");
            }
            else if (File.Exists(mcpPath))
            {
                // A file left from an earlier run would install servers the configuration no longer lists.
                File.Delete(mcpPath);
            }
            Console.WriteLine();
            Console.WriteLine($"Install the files, keeping the managed-settings.d folder{(settings.ManagedMcp is null ? "" : " and managed-mcp.json")} next to managed-settings.json:");
            Console.WriteLine($"  Linux/WSL  {ManagedSettingsPaths.Linux}/");
            Console.WriteLine($"  macOS      {ManagedSettingsPaths.MacOS}/   (or an MDM profile for com.anthropic.claudecode)");
            Console.WriteLine($"  Windows    {ManagedSettingsPaths.Windows}\\   (or HKLM\\SOFTWARE\\Policies\\ClaudeCode)");
            Console.WriteLine($"Install airlock-hook at {parse.GetValue(hook)} on every machine; each developer then runs once:");
            Console.WriteLine($"  airlock-hook login --gateway {gatewayUri.ToString().TrimEnd('/')} < my-airlock-key.txt");
            Console.WriteLine("Check a machine with: airlock doctor --gateway " + gatewayUri.ToString().TrimEnd('/'));
            return 0;
        }));
        return setup;
    }
}
