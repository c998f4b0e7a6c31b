using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Airlock.Inspection.Tests.Secrets;

public class BoundedScanTests(ITestOutputHelper output)
{
    [Fact]
    public void Pathological_organization_pattern_runs_in_linear_time()
    {
        // (a+)+$ is the textbook catastrophic-backtracking pattern; NonBacktracking runs it in linear time.
        var scanner = new SecretScanner(RulePack.Parse("""
            [[rules]]
            id = "redos"
            regex = '''(a+)+$'''
            keywords = ["aaaa"]
            """, "org.toml"));
        var text = new string('a', 200_000) + "!";

        var sw = Stopwatch.StartNew();
        var matches = scanner.ScanAll(text);
        sw.Stop();

        output.WriteLine($"(a+)+$ over 200k chars: {sw.ElapsedMilliseconds} ms");
        Assert.Empty(matches);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Built_in_pattern_that_times_out_falls_back_to_the_linear_engine()
    {
        var pack = RulePackReader.Read("""
            [[rules]]
            id = "slow-built-in"
            regex = '''^zq([a-z]+)+$'''
            keywords = ["zq"]
            """, "built-in", isBuiltIn: true, baseDirectory: null);
        var scanner = new SecretScanner(pack, new SecretScannerOptions { BuiltInEngine = BuiltInRegexEngine.Compiled });
        // Built-in rules load as interpreted backtracking regexes with a match timeout (built in microseconds).
        Assert.Equal(System.Text.RegularExpressions.RegexOptions.None, pack.Rules[0].Regex!.Options & (System.Text.RegularExpressions.RegexOptions.Compiled | System.Text.RegularExpressions.RegexOptions.NonBacktracking));
        Assert.Equal(RuleRegexFactory.BuiltInMatchTimeout, pack.Rules[0].Regex!.MatchTimeout);
        var lettersOnly = new string(FakeTokens.RandomBase62(new Random(9), 10_000).ToLowerInvariant().Where(char.IsAsciiLetter).ToArray());

        var sw = Stopwatch.StartNew();
        var noMatch = scanner.ScanAll("zq" + lettersOnly + "!");
        var match = scanner.ScanAll("zq" + lettersOnly[..64]);
        sw.Stop();

        output.WriteLine($"timeout + fallback: {sw.ElapsedMilliseconds} ms");
        Assert.Empty(noMatch);
        Assert.Equal("slow-built-in", Assert.Single(match).RuleId);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Input_of_32_MB_is_scanned_in_bounded_time_and_nothing_is_skipped()
    {
        var scanner = new SecretScanner(RulePack.Parse("""
            [[rules]]
            id = "acme-token"
            regex = '''\b(acme_[a-z0-9]{32})\b'''
            keywords = ["acme_"]
            [[rules]]
            id = "password"
            regex = '''(?i)password\s*[:=]\s*"([^"\s]{10,})"'''
            entropy = 3.0
            keywords = ["password"]
            """, "org.toml"));
        var tokens = Enumerable.Range(0, 5).Select(i => "acme_" + FakeTokens.RandomBase62(new Random(i), 32).ToLowerInvariant()).ToArray();
        const int Target = 32 * 1024 * 1024;
        var sb = new StringBuilder(Target + 4096);
        var line = "    var value = compute(input, 42); // password: read from vault, never inline\n";
        var plantAt = new[] { 0, 8 * 1024 * 1024 - 40_000, 8 * 1024 * 1024 - 10, 16 * 1024 * 1024, Target - 200 };
        var expected = new List<int>();
        var next = 0;
        while (sb.Length < Target)
        {
            if (next < plantAt.Length && sb.Length >= plantAt[next])
            {
                sb.Append("key = ");
                expected.Add(sb.Length);
                sb.Append(tokens[next]).Append('\n');
                next++;
            }
            else
            {
                sb.Append(line);
            }
        }

        var text = sb.ToString();
        var sw = Stopwatch.StartNew();
        var matches = scanner.ScanAll(text);
        sw.Stop();

        output.WriteLine($"32 MB ({text.Length:N0} chars, {Target / line.Length:N0} keyword lines): {sw.ElapsedMilliseconds} ms, {text.Length / sw.Elapsed.TotalSeconds / 1e6:F1} Mchar/s");
        Assert.Equal(expected, matches.Select(m => m.Start));
        Assert.All(matches, m => Assert.Equal("acme-token", m.RuleId));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Long_text_windows_still_find_long_multiline_matches()
    {
        var scanner = new SecretScanner(RulePack.Parse("""
            [[rules]]
            id = "private-key"
            regex = '''(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----[\s\S-]{64,}?KEY-----'''
            keywords = ["-----begin"]
            """, "org.toml"));
        var body = string.Join('\n', Enumerable.Range(0, 40).Select(i => FakeTokens.RandomBase62(new Random(i), 64)));
        var pem = "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----";
        var filler = new string(' ', 100_000);
        var text = filler + pem + filler;

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal(filler.Length, match.Start);
        Assert.Equal(pem.Length, match.Length);
    }
}
