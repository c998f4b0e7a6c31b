using System.Diagnostics;

namespace Airlock.Tests.Cli;

/// <summary>What a CLI run printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the built CLI (<c>dotnet airlock.dll</c>, the configuration the tests were built in) as a real process.</summary>
internal static class AirlockCli
{
    /// <summary>Runs <c>airlock <paramref name="args"/></c> in <paramref name="workDir"/> (killed after two minutes).</summary>
    public static Task<CliResult> RunAsync(string workDir, params string[] args) => RunAsync(workDir, new Dictionary<string, string?>(), args);

    /// <summary>As above, with <paramref name="environment"/> set in the process (a null value removes the variable).</summary>
    public static async Task<CliResult> RunAsync(string workDir, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new CliResult(process.ExitCode, await output, await error);
    }

    private static string CliPath
    {
        get
        {
            // test/Airlock.Tests/bin/<Configuration>/net10.0/ → src/Airlock.Cli/bin/<Configuration>/net10.0/airlock.dll
            var binDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = binDir.Parent!.Name;
            var root = binDir;
            while (!File.Exists(Path.Combine(root.FullName, "Airlock.slnx")))
            {
                root = root.Parent!;
            }
            var path = Path.Combine(root.FullName, "src", "Airlock.Cli", "bin", configuration, binDir.Name, "airlock.dll");
            Assert.True(File.Exists(path), $"the CLI is not built: {path}");
            return path;
        }
    }
}
