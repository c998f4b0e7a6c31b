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
