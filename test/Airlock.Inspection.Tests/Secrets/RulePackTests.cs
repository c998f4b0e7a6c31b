namespace Airlock.Inspection.Tests.Secrets;

public class RulePackTests
{
    // A realistic organization config in gitleaks' format, written for these tests.
    private const string OrganizationConfig = """
        title = "Contoso secret scanning"

        [allowlist]
        description = "global allowlist (older single-table form)"
        paths = ['''(^|/)testdata/''']
        stopwords = ["notasecret"]

        [[rules]]
        id = "contoso-deploy-key"
        description = "Contoso deploy key"
        regex = '''(?i)\b(?P<key>cdk_(?:live|test)_[0-9a-z]{32})(?:['"\s;]|$)'''
        secretGroup = 1
        keywords = ["CDK_LIVE_", "cdk_test_"]
        tags = ["contoso", "deploy"]
        confidence = "high"
        identifiable = true

        [[rules]]
        id = "contoso-generic"
        description = "Generic Contoso credential assignment"
        regex = '''(?i)contoso[\w.-]{0,20}(?:secret|token)[\s'"]{0,3}(?:=|:)[\s'"]{0,5}([\w.=-]{16,64})'''
        entropy = 3.2
        keywords = ["contoso"]
        confidence = "low"
          [[rules.allowlists]]
          regexTarget = "line"
          regexes = ['''(?i)example|sample''']
        """;

    [Fact]
    public void Parse_reads_gitleaks_fields_and_airlock_extensions()
    {
        var pack = RulePack.Parse(OrganizationConfig, "contoso.toml");

        Assert.Equal(["contoso-deploy-key", "contoso-generic"], pack.Rules.Select(r => r.Id));
        var deploy = pack.FindRule("contoso-deploy-key")!;
        Assert.Equal(["cdk_live_", "cdk_test_"], deploy.Keywords);
        Assert.Equal(["contoso", "deploy"], deploy.Tags);
        Assert.Equal(1, deploy.SecretGroup);
        Assert.Equal(Confidence.High, deploy.Confidence);
        Assert.True(deploy.Identifiable);
        Assert.False(deploy.IsBuiltIn);
        Assert.True((deploy.Regex!.Options & System.Text.RegularExpressions.RegexOptions.NonBacktracking) != 0);
        var generic = pack.FindRule("contoso-generic")!;
        Assert.Equal(3.2, generic.Entropy);
        Assert.Equal(FindingCategory.Secret, generic.Category);
        Assert.Equal(AllowlistTarget.Line, Assert.Single(generic.Allowlists).RegexTarget);
        Assert.Single(pack.GlobalAllowlists);
        Assert.Equal(16, pack.Version.Length);
    }

    [Fact]
    public void Imported_config_detects_and_applies_global_stopwords_and_paths()
    {
        var scanner = new SecretScanner(RulePack.Parse(OrganizationConfig, "contoso.toml"));
        var key = "cdk_live_" + FakeTokens.RandomBase62(new Random(5), 32).ToLowerInvariant();
        var text = $"DEPLOY_KEY=\"{key}\"";

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal(key, text.Substring(match.Start, match.Length));
        Assert.Empty(scanner.ScanAll("contoso_api_token = \"notasecret-Zq8Lm2Np4Rt6\""));
        var results = new List<TextMatch>();
        scanner.Scan(text, "src/testdata/keys.txt", results);
        Assert.Empty(results);
        Assert.Empty(scanner.ScanAll("contoso_api_token = \"Zq8Lm2Np4Rt6Vx8Bz0Cd\" # example"));
        Assert.Single(scanner.ScanAll("contoso_api_token = \"Zq8Lm2Np4Rt6Vx8Bz0Cd\""));
    }

    [Fact]
    public void Every_problem_is_reported_with_source_and_rule_id()
    {
        var toml = """
            [[rules]]
            id = "bad-regex"
            regex = '''(unclosed'''
            keywords = ["x"]

            [[rules]]
            id = "no-keywords"
            regex = '''abc'''

            [[rules]]
            id = "dup"
            regex = '''abc'''
            keywords = ["abc"]

            [[rules]]
            id = "dup"
            regex = '''abd'''
            keywords = ["abd"]

            [[rules]]
            id = "bad-validator"
            regex = '''abc'''
            keywords = ["abc"]
            validate = "crc64"

            [[rules]]
            id = "bad-group"
            regex = '''a(b)c'''
            secretGroup = 3
            keywords = ["abc"]

            [[rules]]
            id = "needs-ghost"
            regex = '''abc'''
            keywords = ["abc"]
              [[rules.required]]
              id = "ghost"

            [[rules]]
            id = "bad-confidence"
            regex = '''abc'''
            keywords = ["abc"]
            confidence = "certain"
            """;

        var ex = Assert.Throws<RulePackException>(() => RulePack.Parse(toml, "org.toml"));

        Assert.Contains(ex.Errors, e => e.StartsWith("org.toml: rule 'bad-regex': bad regex", StringComparison.Ordinal));
        // A keyword-less rule is accepted in an organization pack (gitleaks semantics; see KeywordlessRuleTests).
        Assert.DoesNotContain(ex.Errors, e => e.Contains("'no-keywords'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e == "org.toml: rule 'dup': duplicate id");
        Assert.Contains(ex.Errors, e => e.StartsWith("org.toml: rule 'bad-validator': unknown validator 'crc64'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("org.toml: rule 'bad-group': 'secretGroup' 3", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("org.toml: rule 'needs-ghost': required rule 'ghost' does not exist", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("org.toml: rule 'bad-confidence': unknown confidence", StringComparison.Ordinal));
        Assert.Equal(6, ex.Errors.Count);
    }

    [Fact]
    public void Broken_toml_reports_the_line()
    {
        var toml = "title = \"x\"\n\n[[rules]]\nid = \"unterminated\nregex = 'a'\n";

        var ex = Assert.Throws<RulePackException>(() => RulePack.Parse(toml, "broken.toml"));

        Assert.Contains(ex.Errors, e => e.StartsWith("broken.toml: line 4,", StringComparison.Ordinal));
    }

    [Fact]
    public void Merge_lets_later_ids_override_and_appends_new_rules()
    {
        var first = RulePack.Parse("""
            [[rules]]
            id = "a"
            regex = '''aaa'''
            keywords = ["aaa"]
            [[rules]]
            id = "b"
            regex = '''bbb'''
            keywords = ["bbb"]
            """, "first.toml");
        var second = RulePack.Parse("""
            [[rules]]
            id = "b"
            regex = '''BBB\d'''
            keywords = ["bbb"]
            confidence = "high"
            [[rules]]
            id = "c"
            regex = '''ccc'''
            keywords = ["ccc"]
            """, "second.toml");

        var merged = first.Merge(second);

        Assert.Equal(["a", "b", "c"], merged.Rules.Select(r => r.Id));
        Assert.Equal("second.toml", merged.FindRule("b")!.Source);
        Assert.Equal(Confidence.High, merged.FindRule("b")!.Confidence);
        Assert.NotEqual(first.Version, merged.Version);
        Assert.NotEqual(second.Version, merged.Version);
    }

    [Fact]
    public void Extend_path_merges_a_base_file_and_disables_rules()
    {
        var dir = Directory.CreateTempSubdirectory("airlock-rules-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "base.toml"), """
                [[rules]]
                id = "base-one"
                regex = '''one\d'''
                keywords = ["one"]
                [[rules]]
                id = "base-two"
                regex = '''two\d'''
                keywords = ["two"]
                """);
            var orgPath = Path.Combine(dir.FullName, "org.toml");
            File.WriteAllText(orgPath, """
                [extend]
                path = "base.toml"
                disabledRules = ["base-two"]
                [[rules]]
                id = "org-three"
                regex = '''three\d'''
                keywords = ["three"]
                """);

            var pack = RulePack.LoadFile(orgPath);

            Assert.Equal(["base-one", "org-three"], pack.Rules.Select(r => r.Id));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Extend_use_default_merges_over_the_built_in_pack_or_fails_closed()
    {
        var toml = """
            [extend]
            useDefault = true
            [[rules]]
            id = "org-only"
            regex = '''orgtoken_\w{10}'''
            keywords = ["orgtoken_"]
            """;

        if (RulePack.HasBuiltIn)
        {
            var pack = RulePack.Parse(toml, "org.toml");
            Assert.Equal(RulePack.LoadBuiltIn().Rules.Count + 1, pack.Rules.Count);
            Assert.Equal("org-only", pack.Rules[^1].Id);
        }
        else
        {
            var ex = Assert.Throws<RulePackException>(() => RulePack.Parse(toml, "org.toml"));
            Assert.Contains(ex.Errors, e => e.Contains("useDefault", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Unknown_keys_are_warnings_not_errors()
    {
        var pack = RulePack.Parse("""
            [[rules]]
            id = "a"
            regex = '''aaa'''
            keywords = ["aaa"]
            reportGroup = 2
            """, "org.toml");

        Assert.Contains(pack.Warnings, w => w.Contains("'reportGroup'", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_file_is_a_rule_pack_error()
    {
        var ex = Assert.Throws<RulePackException>(() => RulePack.LoadFile("/nonexistent/airlock/rules.toml"));
        Assert.Single(ex.Errors);
    }
}
