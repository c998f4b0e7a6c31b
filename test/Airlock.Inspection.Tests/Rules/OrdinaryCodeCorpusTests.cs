namespace Airlock.Inspection.Tests.Rules;

/// <summary>
/// The whole pack must stay silent on ordinary code: C#, JS (with a minified chunk), Python, CI and Kubernetes
/// YAML, lockfiles, go.sum, markdown and appsettings, full of hashes, UUIDs, base64, integrity strings,
/// placeholders and URLs without credentials. Every finding here would be a false alarm in a real session.
/// </summary>
public sealed class OrdinaryCodeCorpusTests
{
    public static TheoryData<string, string> CorpusFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in new[] { RulePackFixture.Engines.BuiltIn, RulePackFixture.Engines.Linear })
        {
            foreach (var file in Directory.GetFiles(CorpusDirectory, "*.txt").Order(StringComparer.Ordinal))
            {
                data.Add(engine, Path.GetFileName(file));
            }
        }

        return data;
    }

    [Fact]
    public void Corpus_is_a_few_hundred_lines_of_several_languages()
    {
        var files = Directory.GetFiles(CorpusDirectory, "*.txt");
        var lines = files.Sum(f => File.ReadAllLines(f).Length);

        Assert.True(files.Length >= 6, $"only {files.Length} corpus files");
        Assert.True(lines >= 300, $"only {lines} corpus lines");
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Pack_reports_nothing_on_ordinary_code(string engine, string fileName)
    {
        var text = File.ReadAllText(Path.Combine(CorpusDirectory, fileName));

        var matches = RulePackFixture.Scan(engine, text);

        Assert.True(matches.Count == 0, $"{fileName}: " + string.Join(", ", matches.Select(m => $"{m.RuleId}@line {LineOf(text, m.Start)}")));
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Every_planted_secret_is_still_found_inside_ordinary_code(string engine, string fileName)
    {
        // The same corpus with one fake identifiable token appended: proves the silence above is not a scanner
        // that finds nothing in this kind of text.
        var token = FakeTokens.For(fileName).ChecksummedToken("ghp_");
        var text = File.ReadAllText(Path.Combine(CorpusDirectory, fileName)) + "\n# leaked: " + token + "\n";

        var matches = RulePackFixture.Scan(engine, text);

        var hit = Assert.Single(matches);
        Assert.Equal("github-pat", hit.RuleId);
        Assert.Equal(text.IndexOf(token, StringComparison.Ordinal), hit.Start);
        Assert.Equal(token.Length, hit.Length);
    }

    private static string CorpusDirectory => Path.Combine(Path.GetDirectoryName(RulePackFixture.RulesFilePath)!, "..", "test", "Airlock.Inspection.Tests", "Rules", "Corpus");

    private static int LineOf(string text, int offset) => text.AsSpan(0, offset).Count('\n') + 1;
}

/// <summary>
/// Texts above the scanner's windowing threshold (64 Ki chars) run each rule only in windows around its keyword
/// hits. Every true positive must survive that: buried after ~75 Ki chars of ordinary code, it is
/// still reported with the same span.
/// </summary>
public sealed class LongTextTests
{
    private static readonly Lazy<string> s_filler = new(() =>
    {
        var corpus = string.Concat(Directory.GetFiles(CorpusDirectory, "*.txt").Order(StringComparer.Ordinal).Select(File.ReadAllText));
        var sb = new System.Text.StringBuilder();
        while (sb.Length < 70_000)
        {
            sb.Append(corpus).Append('\n');
        }

        return sb.ToString();
    });

    public static TheoryData<string, int> TruePositiveCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var group in RuleExamples.TruePositives.GroupBy(e => e.RuleId))
        {
            data.Add(group.Key, 0);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TruePositiveCases))]
    public void True_positive_is_found_inside_a_long_text(string ruleId, int index)
    {
        var example = RuleExamples.TruePositives.Where(e => e.RuleId == ruleId).ElementAt(index);
        var filler = s_filler.Value;
        var text = filler + "\n" + example.Text + "\n" + filler[..2048];
        var start = filler.Length + 1 + example.Start;

        var matches = RulePackFixture.Scan(RulePackFixture.Engines.BuiltIn, text);

        Assert.Contains(matches, m => m.RuleId == ruleId && m.Start == start && m.Length == example.Length);
    }

    private static string CorpusDirectory => Path.Combine(Path.GetDirectoryName(RulePackFixture.RulesFilePath)!, "..", "test", "Airlock.Inspection.Tests", "Rules", "Corpus");
}
