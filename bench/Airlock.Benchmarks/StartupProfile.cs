using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Airlock.Inspection;

namespace Airlock.Benchmarks;

/// <summary>
/// <c>startup-split</c>: where loading the built-in pack goes once the JIT is warm (close to what the NativeAOT hook
/// pays on every call): TOML parse, rule regex construction, the whole read, scanner construction, a small scan.
/// </summary>
internal static class StartupProfile
{
    public static void Run(string[] args)
    {
        using var stream = typeof(RulePack).Assembly.GetManifestResourceStream(RulePack.BuiltInResourceName)!;
        using var reader = new StreamReader(stream);
        var toml = reader.ReadToEnd();
        var pack = RulePackReader.Read(toml, RulePack.BuiltInSourceName, true, null);
        var patterns = pack.Rules.Where(r => r.Regex is not null).Select(r => r.Regex!.ToString()).ToArray();
        var allowPatterns = pack.Rules.SelectMany(r => r.Allowlists).SelectMany(a => a.Regexes.Concat(a.Paths)).Select(r => r.ToString()).ToArray();
        var sample = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + new string('Q', 1600) + "\n-----END RSA PRIVATE KEY-----\n";
        var rows = new (string Name, Func<object> Step)[]
        {
            ("toml parse (Tomlyn)", () => Tomlyn.TomlSerializer.Deserialize<Tomlyn.Model.TomlTable>(toml, TomlTableContext.Instance)!),
            ($"new Regex x{patterns.Length} (rule patterns)", () => patterns.Select(p => new Regex(p, RegexOptions.CultureInvariant, RuleRegexFactory.BuiltInMatchTimeout)).ToArray()),
            ($"new Regex x{allowPatterns.Length} (allowlists)", () => allowPatterns.Select(p => new Regex(p, RegexOptions.CultureInvariant, RuleRegexFactory.BuiltInMatchTimeout)).ToArray()),
            ("RulePackReader.Read (all of the above)", () => RulePackReader.Read(toml, RulePack.BuiltInSourceName, true, null)),
            ("new SecretScanner (all rules)", () => new SecretScanner(RulePackReader.Read(toml, RulePack.BuiltInSourceName, true, null))),
            ("read + scanner + scan a 1.7 KB PEM", () =>
            {
                var s = new SecretScanner(RulePackReader.Read(toml, RulePack.BuiltInSourceName, true, null));
                var results = new List<TextMatch>();
                s.Scan(sample, results);
                return results;
            }),
        };
        if (args.Contains("loop"))
        {
            for (var i = 0; i < 300; i++)
            {
                _ = RulePackReader.Read(toml, RulePack.BuiltInSourceName, true, null);
            }

            return;
        }

        foreach (var (name, step) in rows)
        {
            for (var i = 0; i < 15; i++)
            {
                _ = step(); // past tiered compilation
            }

            var best = double.MaxValue;
            for (var i = 0; i < 10; i++)
            {
                var sw = Stopwatch.StartNew();
                _ = step();
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} {best,8:F2} ms"));
        }
    }
}
