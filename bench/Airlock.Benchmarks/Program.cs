using System.Diagnostics;
using System.Globalization;
using Airlock.Inspection;
using BenchmarkDotNet.Running;

namespace Airlock.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release -- [BenchmarkDotNet args]</c> runs the suite; <c>quick</c> prints rough numbers in seconds; <c>turn</c> splits a conversation turn's cost
/// (for iterating on the engine); <c>startup</c> measures a cold load in this fresh process; <c>corpus DIR</c> writes
/// the side-by-side corpus; <c>scan DIR</c> scans a directory and prints findings as TSV (for bench/secretlint).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "quick":
                QuickRun.Run(args.Skip(1).ToArray());
                return 0;
            case "startup-split":
                StartupProfile.Run(args);
                return 0;
            case "profile":
                ScanProfile.Run(args);
                return 0;
            case "probe":
                KeywordProbe.Run();
                return 0;
            case "ab":
                return SideBySideEngines.Run(args);
            case "regex":
                RegexProbe.Run();
                return 0;
            case "keyauth":
                KeyAuthenticationProbe.Run();
                return 0;
            case "reqpath":
                RequestPathBenchmarks.Probe();
                return 0;
            case "validate":
                RequestValidationBenchmarks.Probe();
                return 0;
            case "turn":
                TurnProbe.Run(args);
                return 0;
            case "startup":
                QuickRun.Startup();
                return 0;
            case "corpus" when args.Length == 2:
                return SideBySide.WriteCorpus(args[1]);
            case "scan" when args.Length == 2:
                return SideBySide.Scan(args[1]);
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new ShortRunConfig());
                return 0;
        }
    }
}
