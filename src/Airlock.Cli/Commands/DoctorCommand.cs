using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Airlock.ClaudeCode.Events;
using Airlock.ClaudeCode.Hooks;
using Airlock.ClaudeCode.Settings;

namespace Airlock.Cli.Commands;

/// <summary>
/// <c>airlock doctor</c> on a developer machine: managed settings installed and complete, the hook present and
/// fast, the gateway reachable and accepting this developer's key, Claude Code's version, nothing in the
/// environment that routes around the gateway, telemetry off, transcript retention. Exit 1 when a check fails.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var managedDir = new Option<string>("--managed-dir") { Description = "Folder holding managed-settings.json (default: this OS's managed settings folder)" };
        var gateway = new Option<string>("--gateway") { Description = "Gateway URL (default: the one airlock-hook login stored)" };
        var claude = new Option<string>("--claude") { Description = "Claude Code executable (default: claude on PATH)", DefaultValueFactory = _ => "claude" };
        var runs = new Option<int>("--hook-runs") { Description = "Hook calls to time", DefaultValueFactory = _ => 10 };
        var command = new Command("doctor", "Check this machine's Claude Code setup against the gateway") { managedDir, gateway, claude, runs };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var report = new DoctorReport();
            var dir = parse.GetValue(managedDir) ?? ManagedSettingsPaths.ForCurrentOs();
            var settings = CheckManagedSettings(report, dir);
            var hookCommand = CheckHookCommand(report, settings);
            var gatewayUrl = await CheckGatewayAsync(report, parse.GetValue(gateway) ?? GatewayFromSettings(settings), cancellationToken);
            await CheckClaudeVersionAsync(report, parse.GetValue(claude)!, cancellationToken);
            CheckEnvironment(report, settings, gatewayUrl);
            CheckTelemetryAndRetention(report, settings);
            if (hookCommand is not null)
            {
                await CheckHookLatencyAsync(report, hookCommand, Math.Clamp(parse.GetValue(runs), 1, 200), cancellationToken);
            }
            report.Write(Console.Out);
            return report.Failures > 0 ? 1 : 0;
        });
        return command;
    }

    private static JsonObject? CheckManagedSettings(DoctorReport report, string dir)
    {
        var mainPath = Path.Combine(dir, "managed-settings.json");
        if (!File.Exists(mainPath))
        {
            report.Fail("managed settings", $"{mainPath} not found: run 'airlock claude-code setup' and install its files there");
            return null;
        }
        JsonObject combined;
        try
        {
            combined = JsonNode.Parse(File.ReadAllText(mainPath)) as JsonObject ?? throw new FormatException("not a JSON object");
            var fragments = Path.Combine(dir, "managed-settings.d");
            if (Directory.Exists(fragments))
            {
                foreach (var file in Directory.GetFiles(fragments, "*.json").Order(StringComparer.Ordinal))
                {
                    if (JsonNode.Parse(File.ReadAllText(file)) is JsonObject fragment)
                    {
                        foreach (var (key, value) in fragment)
                        {
                            // Within managed sources the first one with a key wins.
                            if (!combined.ContainsKey(key))
                            {
                                combined[key] = value?.DeepClone();
                            }
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or IOException or UnauthorizedAccessException)
        {
            report.Fail("managed settings", $"{mainPath} cannot be read as JSON: {ex.Message}");
            return null;
        }
        var missing = new List<string>();
        if (combined["env"] is not JsonObject)
        {
            missing.Add("env");
        }
        if (combined["apiKeyHelper"] is null)
        {
            missing.Add("apiKeyHelper");
        }
        if (combined["hooks"]?["PreToolUse"] is null)
        {
            missing.Add("hooks.PreToolUse");
        }
        if (combined["permissions"]?["deny"] is not JsonArray { Count: > 0 })
        {
            missing.Add("permissions.deny");
        }
        if (combined["permissions"]?["disableBypassPermissionsMode"]?.GetValue<string>() != "disable")
        {
            missing.Add("permissions.disableBypassPermissionsMode");
        }
        if (missing.Count > 0)
        {
            report.Fail("managed settings", $"{mainPath} lacks {string.Join(", ", missing)}");
        }
        else
        {
            report.Pass("managed settings", $"{mainPath} (+ managed-settings.d): env, apiKeyHelper, hooks, {combined["permissions"]!["deny"]!.AsArray().Count} deny rules, bypass mode disabled");
        }
        return combined;
    }

    private static string? CheckHookCommand(DoctorReport report, JsonObject? settings)
    {
        var command = settings?["hooks"]?["PreToolUse"]?[0]?["hooks"]?[0]?["command"]?.GetValue<string>();
        if (command is null)
        {
            report.Fail("hook", "no PreToolUse hook command in the managed settings");
            return null;
        }
        var executable = FirstWord(command);
        if (!File.Exists(executable))
        {
            report.Fail("hook", $"{executable} (named by the hooks) does not exist: install airlock-hook there");
            return null;
        }
        report.Pass("hook", executable);
        if (Path.GetFileNameWithoutExtension(executable) == "airlock-hook")
        {
            // airlock-hook has no HTTP client: it starts airlock-hook-send from its own folder to deliver events and fetch the policy.
            var sender = Path.Combine(Path.GetDirectoryName(executable) ?? ".", OperatingSystem.IsWindows() ? "airlock-hook-send.exe" : "airlock-hook-send");
            if (File.Exists(sender))
            {
                report.Pass("hook sender", sender);
            }
            else
            {
                report.Fail("hook sender", $"{sender} does not exist: install airlock-hook-send next to airlock-hook (without it events stay queued and the policy is never refreshed)");
            }
        }
        return executable;
    }

    private static string? GatewayFromSettings(JsonObject? settings)
    {
        var helper = settings?["apiKeyHelper"]?.GetValue<string>();
        var marker = helper?.IndexOf("--gateway ", StringComparison.Ordinal) ?? -1;
        return marker < 0 ? null : helper![(marker + "--gateway ".Length)..].Split(' ')[0];
    }

    private static async Task<string?> CheckGatewayAsync(DoctorReport report, string? gatewayOverride, CancellationToken cancellationToken)
    {
        var state = HookState.FromEnvironment(Environment.GetEnvironmentVariable);
        var credential = state.ReadCredential(Environment.GetEnvironmentVariable, gatewayOverride);
        if (credential is null)
        {
            report.Fail("gateway login", $"no key in {state.CredentialsPath}: run 'airlock-hook login --gateway URL < key.txt'");
            return gatewayOverride;
        }
        using var client = new GatewayClient(credential, TimeSpan.FromSeconds(5));
        var (reachable, status) = await client.ProbeAsync(TimeSpan.FromSeconds(10), cancellationToken);
        if (!reachable)
        {
            report.Fail("gateway", $"{credential.Gateway} is not reachable");
        }
        else if (status != 200)
        {
            report.Fail("gateway", $"{credential.Gateway} refused this developer's key (HTTP {status}): log in again with a valid key");
        }
        else
        {
            report.Pass("gateway", $"{credential.Gateway} reachable, key accepted");
        }
        var waiting = new EventSpool(state.QueueDirectory).Count;
        if (waiting > 0)
        {
            report.Warn("event queue", $"{waiting} hook event(s) wait in {state.QueueDirectory}; they go out with the next hook call or 'airlock-hook flush'");
        }
        return credential.Gateway;
    }

    private static async Task CheckClaudeVersionAsync(DoctorReport report, string claude, CancellationToken cancellationToken)
    {
        try
        {
            var startInfo = new ProcessStartInfo(claude, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(startInfo)!;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            report.Pass("claude code", output.Trim());
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or OperationCanceledException)
        {
            report.Warn("claude code", $"'{claude} --version' did not run ({ex.GetType().Name}); pass --claude PATH");
        }
    }

    /// <summary>Variables in the developer's environment that would send traffic elsewhere or carry a non-Airlock credential.
    /// Managed <c>env</c> wins over them inside Claude Code, but scripts and other tools see them.</summary>
    private static void CheckEnvironment(DoctorReport report, JsonObject? settings, string? gateway)
    {
        var problems = new List<string>();
        foreach (var name in (string[])["ANTHROPIC_BASE_URL", "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL"])
        {
            var value = Environment.GetEnvironmentVariable(name);
            if (!string.IsNullOrEmpty(value) && (gateway is null || !value.StartsWith(gateway, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"{name} points at {value}, not the gateway");
            }
        }
        foreach (var name in (string[])["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "CLAUDE_CODE_OAUTH_TOKEN"])
        {
            var value = Environment.GetEnvironmentVariable(name);
            if (!string.IsNullOrEmpty(value) && !value.StartsWith("alk_", StringComparison.Ordinal))
            {
                problems.Add($"{name} holds a credential that is not an Airlock key");
            }
        }
        var env = settings?["env"] as JsonObject;
        var settingsBedrock = env?["CLAUDE_CODE_USE_BEDROCK"] is not null;
        var settingsVertex = env?["CLAUDE_CODE_USE_VERTEX"] is not null;
        if (!settingsBedrock && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CLAUDE_CODE_USE_BEDROCK")))
        {
            problems.Add("CLAUDE_CODE_USE_BEDROCK is set but the managed settings use another door");
        }
        if (!settingsVertex && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CLAUDE_CODE_USE_VERTEX")))
        {
            problems.Add("CLAUDE_CODE_USE_VERTEX is set but the managed settings use another door");
        }
        if (problems.Count > 0)
        {
            report.Fail("environment", string.Join("; ", problems));
        }
        else
        {
            report.Pass("environment", "nothing routes around the gateway");
        }
        if (Environment.GetEnvironmentVariable("HTTPS_PROXY") is { Length: > 0 } proxy)
        {
            report.Warn("proxy", $"HTTPS_PROXY={proxy}: make sure it reaches the gateway and nothing else");
        }
    }

    private static void CheckTelemetryAndRetention(DoctorReport report, JsonObject? settings)
    {
        var env = settings?["env"] as JsonObject;
        var off = (string[])["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING"];
        var missing = off.Where(name => env?[name] is null).ToList();
        if (missing.Count == 0)
        {
            report.Pass("telemetry", "nonessential traffic, telemetry and error reporting off (managed env)");
        }
        else
        {
            report.Fail("telemetry", $"managed env lacks {string.Join(", ", missing)}");
        }
        if (settings?["cleanupPeriodDays"] is { } days)
        {
            report.Pass("transcripts", $"local transcripts kept {days} days (cleanupPeriodDays)");
        }
        else
        {
            report.Warn("transcripts", "cleanupPeriodDays not managed: Claude Code keeps transcripts 30 days by default");
        }
    }

    private static async Task CheckHookLatencyAsync(DoctorReport report, string hook, int runs, CancellationToken cancellationToken)
    {
        var scratch = Directory.CreateTempSubdirectory("airlock-doctor-");
        try
        {
            var file = Path.Combine(scratch.FullName, "README.md");
            await File.WriteAllTextAsync(file, "# nothing secret here\n", cancellationToken);
            var input = $"{{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"doctor\",\"cwd\":{System.Text.Json.JsonSerializer.Serialize(scratch.FullName, CliJson.Default.String)},\"tool_name\":\"Read\",\"tool_input\":{{\"file_path\":{System.Text.Json.JsonSerializer.Serialize(file, CliJson.Default.String)}}}}}";
            var times = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                var startInfo = new ProcessStartInfo(hook) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                var started = Stopwatch.GetTimestamp();
                using var process = Process.Start(startInfo)!;
                await process.StandardInput.WriteAsync(input);
                process.StandardInput.Close();
                var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
                await process.WaitForExitAsync(cancellationToken);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (process.ExitCode != 0 || output.Contains("deny", StringComparison.Ordinal))
                {
                    report.Fail("hook latency", $"the hook refused a harmless Read (exit {process.ExitCode}): {(await process.StandardError.ReadToEndAsync(cancellationToken)).Trim()}");
                    return;
                }
            }
            times.Sort();
            var p50 = times[times.Count / 2];
            var text = string.Create(CultureInfo.InvariantCulture, $"p50 {p50:0.0} ms, max {times[^1]:0.0} ms over {runs} PreToolUse calls");
            if (p50 > 100)
            {
                report.Warn("hook latency", text + " (slow: is this the NativeAOT airlock-hook?)");
            }
            else
            {
                report.Pass("hook latency", text);
            }
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static string FirstWord(string command)
    {
        command = command.Trim();
        if (command.StartsWith('"'))
        {
            var end = command.IndexOf('"', 1);
            return end < 0 ? command[1..] : command[1..end].Replace("\\\\", "\\", StringComparison.Ordinal);
        }
        var space = command.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? command : command[..space];
    }

    private sealed class DoctorReport
    {
        private readonly List<(string Mark, string Check, string Detail)> _lines = [];

        public int Failures { get; private set; }

        public void Pass(string check, string detail) => _lines.Add(("ok  ", check, detail));

        public void Warn(string check, string detail) => _lines.Add(("warn", check, detail));

        public void Fail(string check, string detail)
        {
            Failures++;
            _lines.Add(("FAIL", check, detail));
        }

        public void Write(TextWriter writer)
        {
            foreach (var (mark, check, detail) in _lines)
            {
                writer.WriteLine($"{mark}  {check,-16} {detail}");
            }
            writer.WriteLine(Failures == 0 ? "doctor: all checks passed" : $"doctor: {Failures} check(s) failed");
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
