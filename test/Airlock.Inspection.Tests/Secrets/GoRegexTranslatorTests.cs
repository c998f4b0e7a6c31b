namespace Airlock.Inspection.Tests.Secrets;

public class GoRegexTranslatorTests
{
    private static SecretScanner Rule(string regex, string keyword) => new(RulePack.Parse($"""
        [[rules]]
        id = "r"
        regex = '''{regex}'''
        keywords = ["{keyword}"]
        """, "t.toml"));

    [Fact]
    public void Perl_classes_are_ascii_like_go()
    {
        // Arabic-Indic digits, a Unicode letter and a no-break space: .NET's \d \w \s match them, Go's do not.
        Assert.Empty(Rule(@"code=\d{4}", "code=").ScanAll("code=\u0661\u0662\u0663\u0664"));
        Assert.Single(Rule(@"code=\d{4}", "code=").ScanAll("code=1234"));
        Assert.Empty(Rule(@"name=\w{4}", "name=").ScanAll("name=\u00E9t\u00E9s"));
        Assert.Empty(Rule(@"a\sb", "a").ScanAll("a\u00A0b"));
        Assert.Single(Rule(@"a\sb", "a").ScanAll("a\tb"));
        Assert.Single(Rule(@"x=[^\w]", "x=").ScanAll("x=\u00E9"));
        Assert.Single(Rule(@"x=[\W]", "x=").ScanAll("x=\u00E9"));
    }

    [Fact]
    public void Posix_unicode_hex_octal_and_quoted_forms_translate()
    {
        Assert.Single(Rule("k=[[:alpha:]]{3}[[:digit:]]", "k=").ScanAll("k=abc7"));
        Assert.Empty(Rule("k=[[:alpha:]]{3}", "k=").ScanAll("k=\u00E9\u00E9\u00E9"));
        Assert.Single(Rule(@"k=\pL{3}", "k=").ScanAll("k=\u00E9t\u00E9"));
        Assert.Single(Rule(@"k=\x{41}\101", "k=").ScanAll("k=AA"));
        Assert.Single(Rule(@"\Qa.b*c\E", "a.b").ScanAll("x a.b*c y"));
        Assert.Empty(Rule(@"\Qa.b*c\E", "a").ScanAll("x aXbbc y"));
    }

    [Fact]
    public void Go_named_groups_and_inline_flags_work()
    {
        var text = "TOKEN: abc123";
        var match = Assert.Single(Rule(@"(?i)token:\s(?P<v>[a-z0-9]+)", "token").ScanAll(text));
        Assert.Equal("abc123", text.Substring(match.Start, match.Length));
    }

    [Theory]
    [InlineData(@"(?U)a+", "ungreedy")]
    [InlineData(@"(a)\8", "backreferences")]
    [InlineData(@"(?P=name)", "backreferences")]
    [InlineData(@"[[:nope:]]", "POSIX")]
    public void Unsupported_go_constructs_are_load_errors(string regex, string reason)
    {
        var ex = Assert.Throws<RulePackException>(() => Rule(regex, "a"));
        Assert.Contains(reason, Assert.Single(ex.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Lookarounds_are_rejected_for_organization_rules()
    {
        var ex = Assert.Throws<RulePackException>(() => Rule(@"key(?=abc)", "key"));
        Assert.StartsWith("t.toml: rule 'r': regex not supported", Assert.Single(ex.Errors), StringComparison.Ordinal);
    }
}
