using System.Diagnostics;
using System.Globalization;
using Airlock.Inspection;

namespace Airlock.Benchmarks;

/// <summary>
/// <c>profile</c>: splits the secret scan of the code corpus into the keyword pass and the rest, then ranks rules by
/// what removing each one saves (leave-one-out, best of a few rounds): where the time beyond the keyword pass goes.
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
        action();
        var best = double.MaxValue;
        for (var round = 0; round < 7; round++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }

        return best;
    }
}
