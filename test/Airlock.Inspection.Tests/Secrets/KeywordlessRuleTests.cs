using System.Text;

namespace Airlock.Inspection.Tests.Secrets;

/// <summary>gitleaks runs a rule without <c>keywords</c> on every fragment; organization packs may have such rules,
/// the built-in pack may not.</summary>
public class KeywordlessRuleTests
{
    // A gitleaks-style organization rule with no keywords, an entropy gate and a rule allowlist.
    private const string KeywordlessToml = """
        title = "org gitleaks config"

        [[rules]]
        id = "zenquill-token"
        description = "Zenquill API token"
        regex = '''\b(zqt_[0-9A-Za-z]{24})\b'''
        secretGroup = 1
        entropy = 3.0
          [rules.allowlist]
          stopwords = ["sample"]
          regexes = ['''^zqt_EXAMPLE''']
        """;

    [Fact]
    public void Organization_rule_without_keywords_loads_with_a_warning()
    {
        var pack = RulePack.Parse(KeywordlessToml, "org.toml");

        var rule = Assert.Single(pack.Rules);
        Assert.Equal("zenquill-token", rule.Id);
        Assert.Empty(rule.Keywords);
        Assert.Contains("org.toml: rule 'zenquill-token' has no keywords: it runs on all text, which is slower", pack.Warnings);
    }

    [Fact]
    public void Built_in_pack_rejects_a_regex_rule_without_keywords()
    {
        var toml = """
            [[rules]]
            id = "no-keywords"
            regex = '''abc'''
            """;

        var ex = Assert.Throws<RulePackException>(() => RulePackReader.Read(toml, RulePack.BuiltInSourceName, isBuiltIn: true, baseDirectory: null));

        Assert.Contains(ex.Errors, e => e.StartsWith("built-in: rule 'no-keywords': missing 'keywords'", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_built_in_regex_rule_has_keywords()
    {
        var pack = RulePack.LoadBuiltIn();

        Assert.NotEmpty(pack.Rules);
        Assert.All(pack.Rules.Where(r => r.Regex is not null), r => Assert.NotEmpty(r.Keywords));
        Assert.DoesNotContain(pack.Warnings, w => w.Contains("has no keywords", StringComparison.Ordinal));
    }

    [Fact]
    public void Keywordless_rule_finds_matches_at_the_start_past_64K_and_at_the_end_of_a_long_text()
    {
        var scanner = new SecretScanner(RulePack.Parse(KeywordlessToml, "org.toml"));
        var random = new Random(20261124);
        var first = FakeToken(random);
        var middle = FakeToken(random);
        var last = FakeToken(random);
        var text = new StringBuilder()
            .Append(first).Append(" is the first token\n")
            .Append(Filler(100_000))
            .Append("config.token = \"").Append(middle).Append("\"\n")
            .Append(Filler(100_000))
            .Append("last=").Append(last)
            .ToString();
        Assert.True(text.IndexOf(middle, StringComparison.Ordinal) > 64 * 1024);

        var matches = scanner.ScanAll(text);

        Assert.Equal([first, middle, last], matches.Values(text));
        Assert.All(matches, m => Assert.Equal("zenquill-token", m.RuleId));
    }

    [Fact]
    public void Keywordless_rule_finds_matches_in_every_chunk_of_a_text_longer_than_the_chunk_size()
    {
        var options = new SecretScannerOptions { MaxStringLength = 32 * 1024, ChunkOverlap = 1024 };
        var scanner = new SecretScanner(RulePack.Parse(KeywordlessToml, "org.toml"), options);
        var random = new Random(7);
        var tokens = Enumerable.Range(0, 5).Select(_ => FakeToken(random)).ToList();
        var text = new StringBuilder();
        foreach (var token in tokens)
        {
            text.Append(Filler(40_000)).Append("key: ").Append(token).Append('\n');
        }

        var value = text.ToString();

        Assert.Equal(tokens, scanner.ScanAll(value).Values(value));
    }

    [Fact]
    public void Keywordless_rule_respects_its_entropy_gate_and_allowlist()
    {
        var scanner = new SecretScanner(RulePack.Parse(KeywordlessToml, "org.toml"));
        var real = FakeToken(new Random(42));
        var lowEntropy = "zqt_" + new string('a', 24);
        var stopWord = "zqt_sample" + FakeToken(new Random(3))[4..22];
        var allowlisted = "zqt_EXAMPLE" + FakeToken(new Random(5))[4..21];
        Assert.Equal(28, stopWord.Length);
        Assert.Equal(28, allowlisted.Length);
        var text = $"a={lowEntropy}\nb={stopWord}\nc={allowlisted}\nd={real}\n";

        Assert.Equal([real], scanner.ScanAll(text).Values(text));
    }

    [Fact]
    public void Keywordless_and_keyword_rules_run_side_by_side()
    {
        var scanner = new SecretScanner(RulePack.Parse(KeywordlessToml + """

            [[rules]]
            id = "acme-key"
            regex = '''acme_key=([a-z0-9]{20})'''
            secretGroup = 1
            keywords = ["acme_key"]
            """, "org.toml"));
        var random = new Random(11);
        var token = FakeToken(random);
        var acme = new string([.. Enumerable.Range(0, 20).Select(_ => "abcdefghijklmnopqrstuvwxyz0123456789"[random.Next(36)])]);
        var text = $"acme_key={acme}\nother {token}\n";

        var matches = scanner.ScanAll(text);

        Assert.Equal(["acme-key", "zenquill-token"], matches.Ids());
        Assert.Equal([acme, token], matches.Values(text));
    }

    [Fact]
    public void Keywordless_rule_honours_its_path_constraint()
    {
        var scanner = new SecretScanner(RulePack.Parse("""
            [[rules]]
            id = "env-token"
            regex = '''\b(zqt_[0-9A-Za-z]{24})\b'''
            path = '''\.env$'''
            """, "org.toml"));
        var token = FakeToken(new Random(9));
        var text = "TOKEN=" + token;
        var found = new List<TextMatch>();
        var notFound = new List<TextMatch>();

        scanner.Scan(text, "app/.env", found);
        scanner.Scan(text, "app/readme.md", notFound);

        Assert.Equal([token], found.Values(text));
        Assert.Empty(notFound);
    }

    // A format-valid FAKE token for the made-up rule above: prefix plus 24 random alphanumerics.
    private static string FakeToken(Random random)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        var chars = new char[24];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        return "zqt_" + new string(chars);
    }

    // Ordinary source-like lines that no rule matches.
    private static string Filler(int length)
    {
        var builder = new StringBuilder(length + 64);
        var line = 0;
        while (builder.Length < length)
        {
            builder.Append("    var value").Append(line++).Append(" = compute(input, options); // step\n");
        }

        return builder.ToString();
    }
}
