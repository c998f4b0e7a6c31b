using System.CommandLine;
using Airlock.Gateway.Inspection;
using Airlock.Inspection.Files;

namespace Airlock.Cli.Commands;

/// <summary>
/// <c>airlock scan PATH…</c>: the gateway's rules applied to files, for CI and for checking what Claude
/// Code could read in a repository. Exit code 1 when anything is found, 0 when clean, 2 on usage errors.
/// </summary>
internal static class ScanCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Files or directories to scan", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string>("--format") { Description = "text (default), json or sarif", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "sarif");
        var output = new Option<string>("--out") { Description = "Write the report to a file instead of standard output" };
        var noGitignore = new Option<bool>("--no-gitignore") { Description = "Also scan files that .gitignore excludes" };
        var maxFile = new Option<long>("--max-file-bytes") { Description = "Skip (and report) larger files", DefaultValueFactory = _ => 4L * 1024 * 1024 };
        var command = new Command("scan", "Scan files for secrets, personal data and organization terms with the configured rules")
        {
            paths, format, output, noGitignore, maxFile,
        };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            // A path that does not exist is a usage error: scanning what is there and exiting 0 would let a CI step
            // with a mistyped path pass silently.
            var missing = parse.GetValue(paths)!.Where(p => !File.Exists(p) && !Directory.Exists(p)).ToList();
            if (missing.Count > 0)
            {
                foreach (var path in missing)
                {
                    await Console.Error.WriteLineAsync($"airlock scan: {path}: no such file or directory").ConfigureAwait(false);
                }
                return 2;
            }
            var config = CommonOptions.Load(parse);
            // The finding-hash key of this deployment when it exists, so hashes match the audit trail; else a throwaway key.
            var keyPath = Path.Combine(config.DataDir, FindingKey.FileName);
            var key = File.Exists(keyPath) || Environment.GetEnvironmentVariable(FindingKey.EnvironmentVariable) is not null
                ? FindingKey.LoadOrCreate(config.DataDir, Environment.GetEnvironmentVariable)
                : System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            var runtime = InspectionRuntime.Create(config.Inspection with { Enabled = true }, key)!;
            FileScanReport report;
            try
            {
                report = FileTreeScanner.Scan(parse.GetValue(paths)!, new FileScanOptions
                {
                    Scanner = runtime.Scanner,
                    Hasher = runtime.Hasher,
                    Policy = runtime.Policy,
                    RespectGitignore = !parse.GetValue(noGitignore),
                    MaxFileBytes = parse.GetValue(maxFile),
                });
            }
            catch (GitignorePatternException ex)
            {
                // A .gitignore the scan cannot honour is a usage error (exit 2), never a crash: --no-gitignore avoids it.
                await Console.Error.WriteLineAsync($"airlock scan: {ex.Message} (use --no-gitignore to scan without it)").ConfigureAwait(false);
                return 2;
            }

            var outPath = parse.GetValue(output);
            await using (var stream = outPath is null ? Console.OpenStandardOutput() : File.Create(outPath))
            {
                switch (parse.GetValue(format))
                {
                    case "json":
                        JsonReport.Write(report, stream);
                        break;
                    case "sarif":
                        SarifReport.Write(report, stream, typeof(ScanCommand).Assembly.GetName().Version?.ToString() ?? "0.0.0");
                        break;
                    default:
                        await using (var writer = new StreamWriter(stream, leaveOpen: true))
                        {
                            TextReport.Write(report, writer);
                        }
                        break;
                }
            }
            return report.Findings.Count > 0 ? 1 : 0;
        }));
        return command;
    }
}
