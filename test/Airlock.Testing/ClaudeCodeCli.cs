using System.Collections;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Airlock.Testing;

/// <summary>
/// Runs the real Claude Code CLI, installed by <c>scripts/install-claude-code.sh</c> under
/// <c>&lt;repo&gt;/.tools/claude-code</c>, in print mode against a loopback base URL, with a temporary HOME and
/// an environment that holds nothing of the caller's ANTHROPIC_* / CLAUDE_* settings.
/// </summary>
public static class ClaudeCodeCli
{
    /// <summary>The version the install script pins; tests are written against what it sends.</summary>
    public const string PinnedVersion = "2.1.330";

    /// <summary>Points at a binary to use instead of the one under .tools (for trying another build by hand).</summary>
    public const string BinaryOverrideVariable = "AIRLOCK_CLAUDE_CODE_BIN";

    private const string PackageScope = "@anthropic-ai";

    private static readonly Lazy<BinaryLookup> Lookup = new(FindBinary);

    /// <summary>True when the pinned CLI is installed and can be run.</summary>
    public static bool IsInstalled => Lookup.Value.Path is not null;

    /// <summary>Absolute path of the native <c>claude</c> binary, or null when it is not installed.</summary>
    public static string? BinaryPath => Lookup.Value.Path;

    /// <summary>Why the CLI cannot be used and how to fix it; empty when it is installed.</summary>
    public static string NotInstalledMessage => Lookup.Value.Problem ?? "";

    /// <summary>True under CI (<c>CI=true</c>): there a missing CLI fails the tests instead of skipping them.</summary>
    public static bool IsContinuousIntegration
        => string.Equals(System.Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws with <see cref="NotInstalledMessage"/> when the CLI is not installed.</summary>
    public static string RequireBinary()
        => BinaryPath ?? throw new InvalidOperationException(NotInstalledMessage);

    /// <summary>
    /// Runs <c>claude -p &lt;prompt&gt; --output-format &lt;format&gt;</c> and waits for it (or the timeout, which
    /// kills the whole process tree). A non-zero exit is returned, not thrown: tests assert on it.
    /// </summary>
    public static async Task<ClaudeCodeResult> RunAsync(ClaudeCodeRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var binary = RequireBinary();

        var ownsHome = options.Home is null;
        var home = options.Home ?? CreateTemporaryDirectory("airlock-claude-home-");
        var ownsWorkingDirectory = options.WorkingDirectory is null;
        var workingDirectory = options.WorkingDirectory ?? CreateTemporaryDirectory("airlock-claude-project-");
        try
        {
            var startInfo = new ProcessStartInfo(binary)
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in BuildArguments(options))
            {
                startInfo.ArgumentList.Add(argument);
            }

            startInfo.Environment.Clear();
            foreach (var (name, value) in BuildEnvironment(options, home))
            {
                startInfo.Environment[name] = value;
            }

            return await RunProcessAsync(startInfo, options.Timeout, cancellationToken);
        }
        finally
        {
            if (ownsHome)
            {
                TryDeleteDirectory(home);
            }

            if (ownsWorkingDirectory)
            {
                TryDeleteDirectory(workingDirectory);
            }
        }
    }

    /// <summary>The command-line arguments a run passes (exposed so tests and reports can show them).</summary>
    public static IReadOnlyList<string> BuildArguments(ClaudeCodeRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var arguments = new List<string> { "-p", options.Prompt, "--output-format", options.OutputFormat };
        if (options.OutputFormat == "stream-json")
        {
            // The CLI refuses stream-json in print mode without --verbose.
            arguments.Add("--verbose");
        }

        if (options.AllowedTools.Count > 0)
        {
            arguments.Add("--allowedTools");
            arguments.Add(string.Join(",", options.AllowedTools));
        }

        if (options.Settings is not null)
        {
            arguments.Add("--settings");
            arguments.Add(options.Settings);
        }

        if (options.Model is not null)
        {
            arguments.Add("--model");
            arguments.Add(options.Model);
        }

        arguments.AddRange(options.ExtraArguments);
        return arguments;
    }

    /// <summary>
    /// The environment a run gets: the caller's environment minus everything that could steer the CLI
    /// elsewhere (ANTHROPIC_*, CLAUDE_*, proxies, OpenTelemetry, CI), then the gateway variables, then the
    /// test's own variables.
    /// </summary>
    public static IReadOnlyDictionary<string, string> BuildEnvironment(ClaudeCodeRunOptions options, string home)
    {
        ArgumentNullException.ThrowIfNull(options);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (!IsInheritable(name))
            {
                continue;
            }

            environment[name] = (string?)entry.Value ?? "";
        }

        environment["HOME"] = home;
        // Keep every per-user file (config, cache, state) inside the temporary HOME.
        environment["XDG_CONFIG_HOME"] = Path.Combine(home, ".config");
        environment["XDG_CACHE_HOME"] = Path.Combine(home, ".cache");
        environment["XDG_DATA_HOME"] = Path.Combine(home, ".local", "share");
        environment["XDG_STATE_HOME"] = Path.Combine(home, ".local", "state");

        environment["ANTHROPIC_BASE_URL"] = options.BaseUrl;
        if (options.ApiKey is not null)
        {
            environment["ANTHROPIC_API_KEY"] = options.ApiKey;
        }

        if (options.AuthToken is not null)
        {
            environment["ANTHROPIC_AUTH_TOKEN"] = options.AuthToken;
        }

        // Without these the CLI also dials api.anthropic.com and other hosts (updates, telemetry, error
        // reports); the test machine has no route there and the calls would only slow the run down.
        environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
        environment["DISABLE_TELEMETRY"] = "1";
        environment["DISABLE_ERROR_REPORTING"] = "1";
        environment["DISABLE_AUTOUPDATER"] = "1";

        foreach (var (name, value) in options.Environment)
        {
            environment[name] = value;
        }

        return environment;
    }

    private static bool IsInheritable(string name)
    {
        // ANTHROPIC_* and CLAUDE* (CLAUDE_CODE_*, CLAUDECODE when the tests run inside Claude Code) would point
        // the CLI at a real provider or change its behaviour. Proxies would route loopback traffic away. CI
        // changes some of the CLI's defaults, so local and CI runs would differ.
        string[] prefixes = ["ANTHROPIC_", "CLAUDE", "OTEL_", "AWS_", "GOOGLE_", "CLOUD_ML_", "VERTEX_"];
        string[] names = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "CI", "HOME"];
        return !prefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase))
            && !names.Any(n => string.Equals(name, n, StringComparison.OrdinalIgnoreCase))
            && !name.StartsWith("XDG_", StringComparison.Ordinal);
    }

    private static async Task<ClaudeCodeResult> RunProcessAsync(ProcessStartInfo startInfo, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = startInfo };
        process.Start();
        // Print mode reads piped stdin as extra prompt input: close it so the CLI never waits for it.
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None);
            if (!timedOut)
            {
                throw;
            }
        }

        var output = await stdout;
        var error = await stderr;
        stopwatch.Stop();
        return ClaudeCodeResult.From(process.ExitCode, output, error, stopwatch.Elapsed, timedOut);
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static BinaryLookup FindBinary()
    {
        var overridePath = System.Environment.GetEnvironmentVariable(BinaryOverrideVariable);
        if (!string.IsNullOrEmpty(overridePath))
        {
            return File.Exists(overridePath)
                ? new(Path.GetFullPath(overridePath), null)
                : new(null, $"{BinaryOverrideVariable}={overridePath} does not exist.");
        }

        var root = RepositoryRoot.Path;
        var install = $"Claude Code {PinnedVersion} is not installed: run scripts/install-claude-code.sh (npm, about 10 s)";
        if (root is null)
        {
            return new(null, $"{install}. No repository root (Airlock.slnx) above {AppContext.BaseDirectory}.");
        }

        var scope = Path.Combine(root, ".tools", "claude-code", "node_modules", PackageScope);
        var candidates = new List<(string Binary, string Manifest)>();
        if (Directory.Exists(scope))
        {
            // One package per platform holds the native binary: claude-code-linux-x64, -linux-x64-musl, -darwin-arm64…
            foreach (var platformPackage in Directory.GetDirectories(scope, $"claude-code-{PlatformPrefix()}*").Order(StringComparer.Ordinal))
            {
                candidates.Add((Path.Combine(platformPackage, BinaryName()), Path.Combine(platformPackage, "package.json")));
            }

            // The wrapper's postinstall copies the same binary over bin/claude.exe (a small stub until then).
            var wrapper = Path.Combine(scope, "claude-code");
            candidates.Add((Path.Combine(wrapper, "bin", "claude.exe"), Path.Combine(wrapper, "package.json")));
        }

        foreach (var (binary, manifest) in candidates)
        {
            if (!File.Exists(binary) || new FileInfo(binary).Length < 1024 * 1024)
            {
                continue;
            }

            var version = ReadVersion(manifest);
            if (version != PinnedVersion)
            {
                return new(null, $"{install}. Found version {version ?? "unknown"} at {binary}.");
            }

            return new(binary, null);
        }

        return new(null, $"{install}. Nothing runnable under {scope}.");
    }

    private static string? ReadVersion(string manifest)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(manifest));
            return document.RootElement.TryGetProperty("version", out var version) ? version.GetString() : null;
        }
        catch (Exception exception) when (exception is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string PlatformPrefix()
    {
        var os = OperatingSystem.IsWindows() ? "win32" : OperatingSystem.IsMacOS() ? "darwin" : "linux";
        var cpu = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        return $"{os}-{cpu}";
    }

    private static string BinaryName() => OperatingSystem.IsWindows() ? "claude.exe" : "claude";

    private static string CreateTemporaryDirectory(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A file still held open by a dying child process; the OS temp cleaner gets it later.
        }
    }

    private sealed record BinaryLookup(string? Path, string? Problem);
}
