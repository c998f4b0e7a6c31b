using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Airlock.Inspection;

namespace Airlock.Benchmarks;

internal static class KeywordProbe
{
    public static void Run()
    {
        var text = CodeCorpus.Text(1024 * 1024);
        var keywords = RulePack.LoadBuiltIn().Rules.SelectMany(r => r.Keywords).Distinct().ToArray();
        foreach (var n in new[] { 4, 8, 16, 32, 64, 80, 100, 200, keywords.Length })
        {
            var subset = keywords.OrderBy(k => k, StringComparer.Ordinal).Take(n).ToArray();
            var sv = SearchValues.Create(subset, StringComparison.OrdinalIgnoreCase);
            var best = double.MaxValue;
            var hits = 0;
            for (var round = 0; round < 5; round++)
            {
                var sw = Stopwatch.StartNew();
                hits = 0;
                var span = text.AsSpan();
                var pos = 0;
                while (true)
                {
                    var i = span[pos..].IndexOfAny(sv);
                    if (i < 0)
                    {
                        break;
                    }

                    hits++;
                    pos += i + 1;
                }

                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n,4} keywords: {text.Length / best / 1e6,8:F1} Mchar/s, {hits} hits, {sv.GetType().Name}"));
        }
    }
}

internal static class RegexProbe
{
    public static void Run()
    {
        var pack = RulePack.LoadBuiltIn();
        var rule = pack.FindRule("generic-yaml-secret")!;
        var lines = CodeCorpus.Text(1024 * 1024).Split('\n').Where(l => l.Contains("token", StringComparison.OrdinalIgnoreCase) && l.Contains(": ", StringComparison.Ordinal)).Take(2000).ToArray();
        var joined = string.Join('\n', lines);
        foreach (var options in new[] { System.Text.RegularExpressions.RegexOptions.None, System.Text.RegularExpressions.RegexOptions.Compiled })
        {
            var regex = new System.Text.RegularExpressions.Regex(rule.Regex!.ToString(), options | System.Text.RegularExpressions.RegexOptions.CultureInvariant);
            var n = 0;
            foreach (var l in lines)
            {
                n += regex.IsMatch(l) ? 1 : 0;
            }

            var sw = Stopwatch.StartNew();
            for (var round = 0; round < 3; round++)
            {
                foreach (var l in lines)
                {
                    n += regex.IsMatch(l) ? 1 : 0;
                }
            }

            var per = sw.Elapsed.TotalMilliseconds * 1000 / (3 * lines.Length);
            sw.Restart();
            n += regex.Count(joined);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{options}: {per:F2} us per line ({lines.Average(l => l.Length):F0} chars), whole {sw.Elapsed.TotalMilliseconds:F2} ms over {joined.Length} chars; {n}"));
        }

        Console.WriteLine(lines[0]);
        Console.WriteLine(lines[1]);
    }
}
