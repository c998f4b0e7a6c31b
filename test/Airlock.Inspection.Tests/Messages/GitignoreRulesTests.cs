using Airlock.Inspection.Files;

namespace Airlock.Inspection.Tests.Messages;

public class GitignoreRulesTests
{
    [Theory]
    // Unanchored names match at any depth, files and directories alike.
    [InlineData("*.log", "app.log", false, true)]
    [InlineData("*.log", "deep/nested/app.log", false, true)]
    [InlineData("*.log", "app.log.txt", false, false)]
    [InlineData("node_modules", "web/node_modules", true, true)]
    // '*' and '?' never cross '/'.
    [InlineData("src/*.ts", "src/a.ts", false, true)]
    [InlineData("src/*.ts", "src/sub/a.ts", false, false)]
    [InlineData("file?.txt", "file1.txt", false, true)]
    [InlineData("file?.txt", "file12.txt", false, false)]
    // A slash anywhere anchors to the .gitignore's folder; a leading slash too.
    [InlineData("/build", "build", true, true)]
    [InlineData("/build", "sub/build", true, false)]
    [InlineData("docs/out", "docs/out", true, true)]
    [InlineData("docs/out", "x/docs/out", true, false)]
    // Trailing slash: directories only.
    [InlineData("cache/", "cache", true, true)]
    [InlineData("cache/", "cache", false, false)]
    [InlineData("cache/", "a/cache", true, true)]
    // '**' forms.
    [InlineData("**/foo", "foo", false, true)]
    [InlineData("**/foo", "a/b/foo", false, true)]
    [InlineData("**/foo/bar", "x/foo/bar", false, true)]
    [InlineData("abc/**", "abc/x/y", false, true)]
    [InlineData("abc/**", "abc", true, false)]
    [InlineData("a/**/b", "a/b", false, true)]
    [InlineData("a/**/b", "a/x/y/b", false, true)]
    [InlineData("a/**/b", "a/x/c", false, false)]
    // Character classes.
    [InlineData("*.[oa]", "lib.a", false, true)]
    [InlineData("*.[oa]", "lib.c", false, false)]
    [InlineData("[!a]*.txt", "b.txt", false, true)]
    [InlineData("[!a]*.txt", "a.txt", false, false)]
    [InlineData("log[0-9].txt", "log7.txt", false, true)]
    // Escapes and comments.
    [InlineData("\\#notes", "#notes", false, true)]
    [InlineData("#notes", "#notes", false, false)]
    [InlineData("\\!important", "!important", false, true)]
    public void Single_pattern_semantics(string pattern, string path, bool isDirectory, bool ignored)
    {
        var rules = GitignoreRules.Parse(pattern);

        Assert.Equal(ignored ? GitignoreVerdict.Ignored : GitignoreVerdict.None, rules.Match(path, isDirectory));
    }

    [Fact]
    public void The_last_matching_pattern_wins_and_negation_reincludes()
    {
        var rules = GitignoreRules.Parse("# secrets\n*.env\n!example.env\n\nconfig/*.env   \n");

        Assert.Equal(GitignoreVerdict.Ignored, rules.Match("prod.env", false));
        Assert.Equal(GitignoreVerdict.Included, rules.Match("example.env", false));
        Assert.Equal(GitignoreVerdict.Ignored, rules.Match("config/example.env", false));
        Assert.Equal(GitignoreVerdict.None, rules.Match("readme.md", false));
        Assert.Equal(3, rules.Count);
    }

    [Fact]
    public void Windows_line_endings_and_trailing_spaces_are_tolerated()
    {
        var rules = GitignoreRules.Parse("bin/  \r\nobj/\r\n");

        Assert.Equal(GitignoreVerdict.Ignored, rules.Match("bin", true));
        Assert.Equal(GitignoreVerdict.Ignored, rules.Match("src/obj", true));
    }

    [Fact]
    public void A_pattern_that_backtracks_past_the_timeout_switches_to_the_linear_engine_with_the_same_verdicts()
    {
        var rules = GitignoreRules.Parse(string.Concat(Enumerable.Repeat("*a", 14)) + "*b\n");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var longName = rules.Match(new string('a', 60), isDirectory: false);
        var matching = rules.Match("x" + new string('a', 20) + "b", isDirectory: false);
        var again = rules.Match(new string('a', 80), isDirectory: false);

        Assert.Equal(GitignoreVerdict.None, longName);
        Assert.Equal(GitignoreVerdict.Ignored, matching);
        Assert.Equal(GitignoreVerdict.None, again);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"matching took {clock.Elapsed}");
    }
}
