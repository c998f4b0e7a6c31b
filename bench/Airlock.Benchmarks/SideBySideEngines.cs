using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;

namespace Airlock.Benchmarks;

/// <summary>
/// <c>ab DIR_A DIR_B</c>: loads the <c>Airlock.Inspection.dll</c> of two builds (e.g. main's and a branch's) into two
/// load contexts of this one process and scans the code corpus with each in alternating rounds (thread CPU time),
/// then prints each engine's median round and the median of the per-pair ratios. On a loaded machine the cost of a
/// round drifts with what the other processes do to the shared caches and cores; rounds of the two engines taken in
/// turn see the same drift, so their ratio holds where two separate runs a minute apart do not. Both engines are
/// also checked to report the same findings on the corpus.
/// </summary>
internal static class SideBySideEngines
{
    public static int Run(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: ab DIR_A DIR_B  (each holding an Airlock.Inspection.dll build)");
            return 2;
        }

        var files = CodeCorpus.Files(1024 * 1024);
        var chars = files.Sum(f => (long)f.Text.Length);
        var a = new Engine(args[1]);
        var b = new Engine(args[2]);
        var findingsA = a.Findings(files);
        var findingsB = b.Findings(files);
        // Further arguments: files or directories whose findings must also be the same (not timed).
        var extra = args.Skip(3)
            .SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p])
            .Select(p => new CodeCorpus.CorpusFile(p, File.ReadAllText(p)))
            .ToList();
        findingsA.AddRange(a.Findings(extra));
        findingsB.AddRange(b.Findings(extra));
        if (!findingsA.SequenceEqual(findingsB))
        {
            Console.WriteLine($"FINDINGS DIFFER: A {findingsA.Count}, B {findingsB.Count}");
            foreach (var line in findingsA.Except(findingsB).Take(10).Select(l => "A only " + l).Concat(findingsB.Except(findingsA).Take(10).Select(l => "B only " + l)))
            {
                Console.WriteLine(line);
            }

            return 1;
        }

        // Warm-up: at least 3 s per engine so that the JIT has tiered both scans up (see QuickRun).
        foreach (var engine in new[] { a, b })
        {
            var start = ThreadCpuClock.Now();
            for (var round = 0; round < 50 || ThreadCpuClock.Now() - start < 3; round++)
            {
                engine.ScanAll(files);
            }
        }

        var rounds = int.TryParse(Environment.GetEnvironmentVariable("AIRLOCK_BENCH_ROUNDS"), out var r) ? r : 40;
        var timesA = new List<double>();
        var timesB = new List<double>();
        var ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // Alternate which engine goes first, so neither always runs right after the other's cache footprint.
            var (first, second) = round % 2 == 0 ? (a, b) : (b, a);
            var t1 = Time(first, files);
            var t2 = Time(second, files);
            var (ta, tb) = round % 2 == 0 ? (t1, t2) : (t2, t1);
            timesA.Add(ta);
            timesB.Add(tb);
            ratios.Add(ta / tb);
        }

        static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"A {args[1]}: median {Median(timesA) * 1000:F2} ms = {chars / Median(timesA) / 1e6:F1} MB/s (best {chars / timesA.Min() / 1e6:F1})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"B {args[2]}: median {Median(timesB) * 1000:F2} ms = {chars / Median(timesB) / 1e6:F1} MB/s (best {chars / timesB.Min() / 1e6:F1})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"A/B time per round: median {Median(ratios):F3} (p10 {ratios.Order().ElementAt(rounds / 10):F3}, p90 {ratios.Order().ElementAt(rounds * 9 / 10):F3}); {rounds} alternating pairs, {chars / 1e6:F2} M chars; the same {findingsA.Count} findings on the corpus and {extra.Count} more files"));
        return 0;
    }

    private static double Time(Engine engine, IReadOnlyList<CodeCorpus.CorpusFile> files)
    {
        var t0 = ThreadCpuClock.Now();
        engine.ScanAll(files);
        return ThreadCpuClock.Now() - t0;
    }

    /// <summary>One build's built-in secret scanner, reached by reflection (its types are not this process's).</summary>
    private sealed class Engine
    {
        private readonly object _scanner;
        private readonly MethodInfo _scan;
        private readonly IList _results;

        public Engine(string directory)
        {
            var context = new AssemblyLoadContext("engine " + directory);
            context.Resolving += (c, name) =>
            {
                var path = Path.Combine(directory, name.Name + ".dll");
                return File.Exists(path) ? c.LoadFromAssemblyPath(Path.GetFullPath(path)) : null;
            };
            var assembly = context.LoadFromAssemblyPath(Path.GetFullPath(Path.Combine(directory, "Airlock.Inspection.dll")));
            var packType = assembly.GetType("Airlock.Inspection.RulePack", throwOnError: true)!;
            var scannerType = assembly.GetType("Airlock.Inspection.SecretScanner", throwOnError: true)!;
            var matchType = assembly.GetType("Airlock.Inspection.TextMatch", throwOnError: true)!;
            var pack = packType.GetMethod("LoadBuiltIn", Type.EmptyTypes)!.Invoke(null, null)!;
            var optionsType = assembly.GetType("Airlock.Inspection.SecretScannerOptions", throwOnError: true)!;
            _scanner = Activator.CreateInstance(scannerType, pack, Activator.CreateInstance(optionsType))!;
            _results = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(matchType))!;
            _scan = scannerType.GetMethod("Scan", [typeof(string), _results.GetType()])!;
        }

        public void ScanAll(IReadOnlyList<CodeCorpus.CorpusFile> files)
        {
            var args = new object?[2];
            args[1] = _results;
            foreach (var f in files)
            {
                _results.Clear();
                args[0] = f.Text;
                _scan.Invoke(_scanner, args);
            }
        }

        public List<string> Findings(IReadOnlyList<CodeCorpus.CorpusFile> files) =>
            [.. files.SelectMany(f =>
            {
                _results.Clear();
                _scan.Invoke(_scanner, [f.Text, _results]);
                return _results.Cast<object>().Select(m => f.Path + ":" + m);
            })];
    }
}
