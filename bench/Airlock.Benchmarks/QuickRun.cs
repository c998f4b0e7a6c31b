using System.Diagnostics;
using System.Globalization;
using Airlock.Inspection;

namespace Airlock.Benchmarks;

/// <summary>Fast, rough measurements for iterating on the engine (the BenchmarkDotNet suite gives the real numbers).</summary>
internal static class QuickRun
{
    public static void Startup()
    {
        var sw = Stopwatch.StartNew();
        var pack = RulePack.LoadBuiltIn();
        var load = sw.Elapsed;
        var scanner = new SecretScanner(pack);
        var construct = sw.Elapsed - load;
        var sample = CodeCorpus.Text(32 * 1024);
        var results = new List<TextMatch>();
        scanner.Scan(sample, results);
        var first = sw.Elapsed - load - construct;
        results.Clear();
        var t = Stopwatch.StartNew();
        scanner.Scan(sample, results);
        var second = t.Elapsed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load {load.TotalMilliseconds:F0} ms, construct {construct.TotalMilliseconds:F0} ms, first 32 KB scan {first.TotalMilliseconds:F1} ms, second {second.TotalMilliseconds:F2} ms ({pack.Rules.Count} rules)"));
    }

    public static void Run(string[] args)
    {
        var which = args.Length > 0 ? args[0] : "all";
        var files = CodeCorpus.Files(1024 * 1024);
        var chars = files.Sum(f => (long)f.Text.Length);
        var engine = args.Length > 1 ? Enum.Parse<BuiltInRegexEngine>(args[1]) : BuiltInRegexEngine.Interpreted;
        var secrets = new SecretScanner(RulePack.LoadBuiltIn(), new SecretScannerOptions { BuiltInEngine = engine });
        var pii = new PersonalDataScanner();
        var all = new CompositeScanner(secrets, pii);
        if (which is "all" or "secrets")
        {
            Measure("secrets", secrets, files, chars);
        }

        if (which is "all" or "pii")
        {
            Measure("pii", pii, files, chars);
        }

        if (which is "all" or "default")
        {
            Measure("secrets+pii", all, files, chars);
        }
    }

    private static void Measure(string name, ITextScanner scanner, IReadOnlyList<CodeCorpus.CorpusFile> files, long chars)
    {
        var results = new List<TextMatch>();
        var found = 0;
        foreach (var f in files)
        {
            results.Clear();
            scanner.Scan(f.Text, results);
            found += results.Count;
        }

        // Warm up until the JIT has tiered the scan up (tier 0 → instrumented → tier 1 with PGO takes a few dozen
        // calls per method and a background compile): session 3's figure of 57 MB/s came from five rounds right after
        // the first scan, that is mostly unoptimized code, which a gateway serving for hours never runs.
        var warmUp = Stopwatch.StartNew();
        for (var round = 0; round < 50 || warmUp.Elapsed < TimeSpan.FromSeconds(3); round++)
        {
            ScanAll(scanner, files, results);
        }

        var rounds = int.TryParse(Environment.GetEnvironmentVariable("AIRLOCK_BENCH_ROUNDS"), out var r) ? r : 20;
        var wall = new List<double>(rounds);
        var cpu = new List<double>(rounds);
        for (var round = 0; round < rounds; round++)
        {
            var sw = Stopwatch.StartNew();
            var cpu0 = ThreadCpuClock.Now();
            ScanAll(scanner, files, results);
            cpu.Add(ThreadCpuClock.Now() - cpu0);
            wall.Add(sw.Elapsed.TotalSeconds);
        }

        // The median round is the figure to quote: the best one is what a quiet core gives at its luckiest, and on a
        // loaded machine (other processes share the caches even when they do not take our time slices) it drifts.
        static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        var best = wall.Min();
        var bestCpu = cpu.Min();
        var medianCpu = Median(cpu);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-12} {chars / best / 1e6,8:F1} MB/s  ({best * 1000:F2} ms per {chars / 1e6:F2} M chars, {files.Count} files, {found} matches); thread CPU time: median {medianCpu * 1000:F2} ms = {chars / medianCpu / 1e6:F1} MB/s, best {bestCpu * 1000:F2} ms = {chars / bestCpu / 1e6:F1} MB/s; {rounds} rounds after warm-up"));
    }

    private static void ScanAll(ITextScanner scanner, IReadOnlyList<CodeCorpus.CorpusFile> files, List<TextMatch> results)
    {
        foreach (var f in files)
        {
            results.Clear();
            scanner.Scan(f.Text, results);
        }
    }
}

/// <summary>Rough split of a conversation turn's cost (for iterating on the request walk).</summary>
internal static class TurnProbe
{
    public static void Run(string[] args)
    {
        var inspector = new Airlock.Inspection.Messages.MessagesRequestInspector(ScannerFactory.CreateDefault(), new Airlock.Inspection.Policy.FindingHasher(System.Text.Encoding.UTF8.GetBytes("benchmark-hash-key-0123456789")));
        var conversation = Conversation.Build(1024 * 1024);
        var warm = Conversation.Serialize(conversation);
        _ = inspector.Inspect(warm, null, Airlock.Inspection.Policy.InspectionPolicy.Default);
        var turns = Enumerable.Range(0, 40).Select(i => Conversation.Serialize(Conversation.WithNewToolResult(conversation, 5 * 1024, seed: 5000 + i))).ToArray();
        var warmTurns = Enumerable.Range(0, 40).Select(i => Conversation.Serialize(Conversation.WithNewToolResult(conversation, 5 * 1024, seed: 7000 + i))).ToArray();
        if (args.Contains("loop"))
        {
            // For a profiler: the same turn, over and over.
            var loop = new List<double>();
            for (var i = 0; i < 2000; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                _ = inspector.Inspect(turns[i % 2], null, Airlock.Inspection.Policy.InspectionPolicy.Default);
                loop.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loop median {loop.Order().ElementAt(loop.Count / 2):F3} ms"));

            return;
        }

        // Warm-up turns with other content, for at least 3 s of wall time: the gateway runs for hours, so what counts
        // is the cost once the JIT has tiered the walk up. A count alone is not enough: the runtime promotes a method
        // only after its 30 calls AND 100 ms without new tier-0 compilations, so 60 fast turns on a quiet machine
        // (~60 ms) were still measured on unoptimized code (session 3: 1.62 ms quiet, 0.51 ms under load, when the
        // slower warm-up crossed the delay; DOTNET_TC_CallCountingDelayMs=20000 reproduces 11.9 ms).
        var warmUp = Stopwatch.StartNew();
        for (var seed = 0; seed < 60 || warmUp.Elapsed < TimeSpan.FromSeconds(3); seed++)
        {
            _ = inspector.Inspect(Conversation.Serialize(Conversation.WithNewToolResult(conversation, 5 * 1024, seed: 9000 + (seed % 200))), null, Airlock.Inspection.Policy.InspectionPolicy.Default);
        }

        // The measuring loop itself runs twice, over two sets of new turns: the first pass only brings this loop and
        // the bare reader past tier 0 (a one-shot loop in a long method is measured on unoptimized or OSR code
        // otherwise, which inflated the reader column to 11 ms and added background-JIT pauses to the turns).
        var (times, cached, reader, hash) = MeasureTurns(inspector, warmTurns);
        (times, cached, reader, hash) = MeasureTurns(inspector, turns);
        static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
        static double P90(List<double> v) => v.Order().ElementAt(v.Count * 9 / 10);
        var memo = inspector.PrefixMemo!.Find(turns[^1])!;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memo: {memo.Checkpoints.Count} checkpoints, last at {memo.Checkpoints[^1].Offset}, {memo.Matched.Count} strings with matches ({memo.Matched.Sum(m => m.RawLength)} raw bytes, {memo.Matched.Sum(m => m.Matches.Length)} matches); findings per turn {inspector.Inspect(turns[^1], null, Airlock.Inspection.Policy.InspectionPolicy.Default).Findings.Count}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"body {turns[0].Length / 1e6:F2} MB: turn (5 KB new) median {Median(times):F3} ms (p90 {P90(times):F3}, {times.Count} turns, after {warmUp.Elapsed.TotalSeconds:F1} s of warm-up); same body again (all cached) {Median(cached):F3} ms; bare Utf8JsonReader {Median(reader):F3} ms; XxHash128 of body {Median(hash):F3} ms; turn thread CPU median {Median(Cpu):F3} ms (p90 {P90(Cpu):F3})"));
    }

    /// <summary>Thread CPU time of each new turn of the last <see cref="MeasureTurns"/> (ms): under load, wall time
    /// counts other processes' time slices.</summary>
    private static readonly List<double> Cpu = [];

    private static (List<double> Times, List<double> Cached, List<double> Reader, List<double> Hash) MeasureTurns(Airlock.Inspection.Messages.MessagesRequestInspector inspector, byte[][] turns)
    {
        Cpu.Clear();
        var times = new List<double>();
        var cached = new List<double>();
        var reader = new List<double>();
        var hash = new List<double>();
        foreach (var body in turns)
        {
            // As the gateway calls it: with the layout of its validation pass, which reads the whole body either way
            // (not timed here; without a layout the inspection reads it itself, as costly as that validation).
            var layout = RequestPathBenchmarks.GatewayLayout(body);
            var sw = Stopwatch.StartNew();
            var cpu0 = ThreadCpuClock.Now();
            _ = inspector.Inspect(body, null, Airlock.Inspection.Policy.InspectionPolicy.Default, layout);
            Cpu.Add((ThreadCpuClock.Now() - cpu0) * 1000);
            times.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            _ = inspector.Inspect(body, null, Airlock.Inspection.Policy.InspectionPolicy.Default, layout);
            cached.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            var r = new System.Text.Json.Utf8JsonReader(body);
            var n = 0;
            while (r.Read())
            {
                n++;
            }

            reader.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            _ = System.IO.Hashing.XxHash128.HashToUInt128(body);
            hash.Add(sw.Elapsed.TotalMilliseconds);
        }

        return (times, cached, reader, hash);
    }
}
