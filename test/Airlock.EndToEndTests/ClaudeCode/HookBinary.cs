using System.Diagnostics;
using Airlock.Testing;

namespace Airlock.EndToEndTests.ClaudeCode;

/// <summary>
/// The NativeAOT <c>airlock-hook</c> the tests hand to Claude Code: <c>AIRLOCK_HOOK_BIN</c> when set, else the build
/// <c>scripts/publish-hook.sh</c> keeps under <c>.tools/airlock-hook</c> (the script publishes it when missing or
/// older than its sources, so a test run never uses a stale hook).
/// </summary>
internal static class HookBinary
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? s_path;

    public static async Task<string> GetAsync()
    {
        if (Environment.GetEnvironmentVariable("AIRLOCK_HOOK_BIN") is { Length: > 0 } explicitPath)
        {
            return explicitPath;
        }
        await Gate.WaitAsync();
        try
        {
            if (s_path is not null)
            {
                return s_path;
            }
            var root = RepositoryRoot.Require();
            var startInfo = new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "publish-hook.sh")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(startInfo)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var path = (await stdout).Trim();
            if (process.ExitCode != 0 || !File.Exists(path))
            {
                throw new InvalidOperationException($"scripts/publish-hook.sh failed (exit {process.ExitCode}): {await stderr}");
            }
            s_path = path;
            return path;
        }
        finally
        {
            Gate.Release();
        }
    }
}
