using System.Diagnostics;
using System.Globalization;
using Airlock.Inspection;

namespace Airlock.Benchmarks;

/// <summary>
/// <c>profile</c>: splits the secret scan of the code corpus into the keyword pass and the rest (thread CPU time, best
/// of a few rounds after warm-up). <c>profile keywords</c> lists the most frequent keyword hits; <c>candidates</c>
/// counts the positions whose folded prefix reaches the keyword matcher's exact check; <c>split</c> times the scan
/// without and with only the four generic rules; <c>rules</c> ranks rules by what removing each one saves.
/// </summary>
internal static class ScanProfile
{
    public static void Run(string[] args)
    {
        var files = CodeCorpus.Files(1024 * 1024);
        var chars = files.Sum(f => (long)f.Text.Length);
        var pack = RulePack.LoadBuiltIn();
        var keywords = new KeywordMatcher([.. pack.Rules.SelectMany(r => r.Keywords).Distinct(StringComparer.OrdinalIgnoreCase)]);
        var hits = new List<KeywordHit>();
        var keywordTime = Best(() =>
        {
            foreach (var f in files)
            {
                hits.Clear();
                keywords.FindAll(f.Text, hits);
            }
        });
        var hitCount = files.Sum(f => { hits.Clear(); keywords.FindAll(f.Text, hits); return hits.Count; });
        var byKeyword = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var f in files)
        {
            hits.Clear();
            keywords.FindAll(f.Text, hits);
            foreach (var hit in hits)
            {
                var k = keywords.Keywords[hit.Keyword];
                byKeyword[k] = byKeyword.GetValueOrDefault(k) + 1;
            }
        }

        if (args.Contains("keywords"))
        {
            foreach (var (k, n) in byKeyword.OrderByDescending(p => p.Value).Take(30))
            {
                var rules = pack.Rules.Where(r => r.Keywords.Contains(k, StringComparer.OrdinalIgnoreCase)).Select(r => r.Id).ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {k,-16} {n,6} hits, {rules.Length,3} rules: {string.Join(' ', rules.Take(8))}"));
            }
        }

        var full = new SecretScanner(pack);
        for (var warm = 0; warm < 30; warm++)
        {
            ScanAll(full, files); // past tiered compilation
        }

        var fullTime = Best(() => ScanAll(full, files));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"full {fullTime * 1000:F2} ms ({chars / fullTime / 1e6:F1} MB/s); keyword pass {keywordTime * 1000:F2} ms ({hitCount} hits)"));
        if (args.Contains("candidates"))
        {
            // Positions whose folded prefix starts some keyword (what reaches the exact comparison, hash collisions aside).
            static string Fold(ReadOnlySpan<char> s) => string.Create(s.Length, s.ToString(), (d, src) => { for (var j = 0; j < d.Length; j++) { d[j] = (char)((src[j] | 0x20) & 0x7F); } });
            var four = pack.Rules.SelectMany(r => r.Keywords).Where(k => k.Length >= 4).Select(k => Fold(k.AsSpan(0, 4))).ToHashSet();
            var three = pack.Rules.SelectMany(r => r.Keywords).Where(k => k.Length == 3).Select(k => Fold(k)).ToHashSet();
            var byPrefix = new Dictionary<string, int>();
            var candidates = 0;
            foreach (var f in files)
            {
                for (var p = 0; p + 4 <= f.Text.Length; p++)
                {
                    var p4 = Fold(f.Text.AsSpan(p, 4));
                    if (four.Contains(p4) || three.Contains(p4[..3]))
                    {
                        candidates++;
                        byPrefix[p4] = byPrefix.GetValueOrDefault(p4) + 1;
                    }
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{candidates} candidate positions of {chars}: {string.Join(", ", byPrefix.OrderByDescending(p => p.Value).Take(30).Select(p => $"{p.Key}={p.Value}"))}"));
        }

        if (args.Contains("split"))
        {
            string[] generic = ["generic-api-key", "generic-env-assignment", "generic-yaml-secret", "generic-password"];
            var noGeneric = new SecretScanner(pack.WithoutRules(generic));
            var onlyGeneric = new SecretScanner(pack.WithoutRules(pack.Rules.Select(r => r.Id).Except(generic)));
            for (var warm = 0; warm < 20; warm++)
            {
                ScanAll(noGeneric, files);
                ScanAll(onlyGeneric, files);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"without the 4 generic rules {Best(() => ScanAll(noGeneric, files)) * 1000:F2} ms; only them {Best(() => ScanAll(onlyGeneric, files)) * 1000:F2} ms; full again {Best(() => ScanAll(full, files)) * 1000:F2} ms"));
        }

        if (args.Contains("rules"))
        {
            var costs = new List<(string Id, double Saved)>();
            foreach (var rule in pack.Rules)
            {
                var without = new SecretScanner(pack.WithoutRules([rule.Id]));
                costs.Add((rule.Id, -Best(() => ScanAll(without, files))));
            }

            fullTime = Math.Min(fullTime, Best(() => ScanAll(full, files)));
            foreach (var (id, saved) in costs.OrderByDescending(c => c.Saved).Take(25))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {id,-40} {(fullTime + saved) * 1000,7:F2} ms"));
            }
        }
    }

    private static void ScanAll(SecretScanner scanner, IReadOnlyList<CodeCorpus.CorpusFile> files)
    {
        var results = new List<TextMatch>();
        foreach (var f in files)
        {
            results.Clear();
            scanner.Scan(f.Text, results);
        }
    }

    private static double Best(Action action)
    {
        for (var warm = 0; warm < 40; warm++)
        {
            action(); // past tiered compilation
        }

        var best = double.MaxValue;
        for (var round = 0; round < 7; round++)
        {
            // Thread CPU time: other engineers' builds share the cores, and their time slices are not ours.
            var t0 = ThreadCpuClock.Now();
            action();
            best = Math.Min(best, ThreadCpuClock.Now() - t0);
        }

        return best;
    }
}
