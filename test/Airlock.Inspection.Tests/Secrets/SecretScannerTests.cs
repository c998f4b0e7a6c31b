namespace Airlock.Inspection.Tests.Secrets;

public class SecretScannerTests
{
    private static SecretScanner Scanner(string toml) => new(RulePack.Parse(toml, "test.toml"));

    [Fact]
    public void Keyword_gate_runs_a_rule_only_when_its_keyword_occurs()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "sourcegraph-token"
            regex = '''\b([0-9a-f]{40})\b'''
            keywords = ["sourcegraph", "sgp_"]
            """);
        var sha = "3f786850e387550fdab836ed7e6dc881de23001b";

        Assert.Empty(scanner.ScanAll($"commit {sha} fixed the build"));
        var withKeyword = $"SOURCEGRAPH_TOKEN={sha}";
        Assert.Equal([sha], scanner.ScanAll(withKeyword).Values(withKeyword));
    }

    [Fact]
    public void Secret_group_selects_the_reported_span_with_go_group_numbering()
    {
        // In Go the named group is #1 and the plain group #2; .NET numbers named groups last.
        var scanner = Scanner("""
            [[rules]]
            id = "acme-key"
            regex = '''(?P<label>acme[_-]key)\s*=\s*"([a-z0-9]{24})"'''
            secretGroup = 2
            keywords = ["acme"]
            """);
        var text = "config: acme_key = \"k3j4h5g6f7d8s9a0q1w2e3r4\" end";

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal("k3j4h5g6f7d8s9a0q1w2e3r4", text.Substring(match.Start, match.Length));
        Assert.Equal("acme-key", match.RuleId);
    }

    [Fact]
    public void Without_secret_group_the_first_non_empty_group_is_the_secret()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "acme-key"
            regex = '''acme(_old)?_key=([A-Za-z0-9]{20})'''
            keywords = ["acme"]
            """);
        var text = "acme_key=Zq8Lm2Np4Rt6Vx8Bz0Cd";

        Assert.Equal(["Zq8Lm2Np4Rt6Vx8Bz0Cd"], scanner.ScanAll(text).Values(text));
    }

    [Fact]
    public void Entropy_gate_drops_low_entropy_values()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "generic-secret"
            regex = '''secret\s*=\s*"([^"]{12,})"'''
            entropy = 3.5
            keywords = ["secret"]
            """);
        var low = "secret = \"aabbaabbaabbccdd\"";
        var high = "secret = \"q7Lw2Xp9Zr4Tm6Vb8Nc1\"";

        Assert.True(ShannonEntropy.Compute("aabbaabbaabbccdd") <= 3.5);
        Assert.Empty(Scanner("""
            [[rules]]
            id = "generic-secret"
            regex = '''secret\s*=\s*"([^"]{12,})"'''
            entropy = 3.5
            keywords = ["secret"]
            """).ScanAll(low));
        Assert.Equal(["q7Lw2Xp9Zr4Tm6Vb8Nc1"], scanner.ScanAll(high).Values(high));
    }

    [Theory]
    [InlineData("token = \"${API_TOKEN}\"")]
    [InlineData("token = \"{{ api_token }}\"")]
    [InlineData("token = \"<your-api-token>\"")]
    [InlineData("token = \"sk-xxxxxxxxxxxxxxxxxxxx\"")]
    [InlineData("token = \"AKIAIOSFODNN7EXAMPLE\"")]
    [InlineData("token = \"aaaaaaaaaaaaaaaaaaaa\"")]
    [InlineData("token = \"0123456789abcdef\"")]
    [InlineData("token = \"null\"")]
    public void Placeholder_filter_drops_template_and_documentation_values(string text)
    {
        var scanner = Scanner("""
            [[rules]]
            id = "generic-token"
            regex = '''token\s*=\s*"([^"]+)"'''
            keywords = ["token"]
            """);

        Assert.Empty(scanner.ScanAll(text));
        Assert.Single(scanner.ScanAll("token = \"Tq3Lz8Wm1Xr5Yp0Kd7Vn\""));
    }

    [Fact]
    public void Rule_allowlist_targets_secret_match_and_line()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "password-assignment"
            regex = '''(?i)password\s*[:=]\s*"([^"\s]{8,})"'''
            keywords = ["password"]

              [[rules.allowlists]]
              description = "test fixtures"
              regexes = ['''^fixture-''']

              [[rules.allowlists]]
              regexTarget = "match"
              regexes = ['''(?i)^password\s*:''']

              [[rules.allowlists]]
              regexTarget = "line"
              regexes = ['''#\s*airlock:allow''']
            """);

        Assert.Empty(scanner.ScanAll("password = \"fixture-Q8w7e6r5\""));      // secret target
        Assert.Empty(scanner.ScanAll("Password: \"Q8w7e6r5t4y3\""));           // match target (colon form)
        Assert.Empty(scanner.ScanAll("x\npassword = \"Q8w7e6r5t4y3\" # airlock:allow\ny"));  // line target
        var reported = "a\npassword = \"Q8w7e6r5t4y3\"\n# airlock:allow on another line";
        Assert.Equal(["Q8w7e6r5t4y3"], scanner.ScanAll(reported).Values(reported));
    }

    [Fact]
    public void Stopwords_and_the_older_single_allowlist_table_are_honoured()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "db-password"
            regex = '''DB_PASSWORD=(\S{8,})'''
            keywords = ["db_password"]
            [rules.allowlist]
            stopwords = ["localdev"]
            """);

        Assert.Empty(scanner.ScanAll("DB_PASSWORD=LocalDev2024!x"));
        Assert.Single(scanner.ScanAll("DB_PASSWORD=Pr0d-Zx81-Qw72"));
    }

    [Fact]
    public void And_condition_requires_every_criterion()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "db-password"
            regex = '''DB_PASSWORD=(\S{8,})'''
            keywords = ["db_password"]
            [[rules.allowlists]]
            condition = "AND"
            stopwords = ["staging"]
            regexes = ['''^stg-''']
            """);

        Assert.Empty(scanner.ScanAll("DB_PASSWORD=stg-Staging-77Qx"));
        Assert.Single(scanner.ScanAll("DB_PASSWORD=Staging-77Qx-a1b2"));      // stopword only
        Assert.Single(scanner.ScanAll("DB_PASSWORD=stg-Prod-77Qx-a1b2"));     // regex only
    }

    [Fact]
    public void Global_allowlist_applies_to_its_target_rules_only()
    {
        var toml = """
            [[allowlists]]
            targetRules = ["rule-a"]
            regexes = ['''^ALLOW''']

            [[rules]]
            id = "rule-a"
            regex = '''alpha=(\w{10,})'''
            keywords = ["alpha="]

            [[rules]]
            id = "rule-b"
            regex = '''beta=(\w{10,})'''
            keywords = ["beta="]
            """;
        var scanner = Scanner(toml);

        Assert.Empty(scanner.ScanAll("alpha=ALLOWq8w7e6r5t4"));
        Assert.Equal(["rule-b"], scanner.ScanAll("beta=ALLOWq8w7e6r5t4").Ids());
    }

    [Fact]
    public void Required_companion_must_match_within_the_given_lines()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "acme-client-id"
            regex = '''ACME_CLIENT_ID=([A-Z0-9]{16})'''
            keywords = ["acme_client_id"]
            skipReport = true

            [[rules]]
            id = "acme-client-secret"
            regex = '''ACME_CLIENT_SECRET=([A-Za-z0-9]{32})'''
            keywords = ["acme_client_secret"]
              [[rules.required]]
              id = "acme-client-id"
              withinLines = 2
            """);
        var secret = "Hq3Lz8Wm1Xr5Yp0Kd7Vn2Bc4Nf6Gj9Ts";
        var together = $"ACME_CLIENT_ID=K3J4H5G6F7D8S9A0\nACME_CLIENT_SECRET={secret}\n";
        var apart = $"ACME_CLIENT_ID=K3J4H5G6F7D8S9A0\n\n\n\n\nACME_CLIENT_SECRET={secret}\n";
        var alone = $"ACME_CLIENT_SECRET={secret}\n";

        var match = Assert.Single(scanner.ScanAll(together));
        Assert.Equal("acme-client-secret", match.RuleId);
        Assert.Equal(secret, together.Substring(match.Start, match.Length));
        Assert.Empty(scanner.ScanAll(apart));
        Assert.Empty(scanner.ScanAll(alone));
    }

    [Fact]
    public void Required_companion_within_columns()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "part-a"
            regex = '''AAA:(\w{12})'''
            keywords = ["aaa:"]
            skipReport = true
            [[rules]]
            id = "part-b"
            regex = '''BBB:(\w{12})'''
            keywords = ["bbb:"]
              [[rules.required]]
              id = "part-a"
              withinLines = 1
              withinColumns = 5
            """);

        Assert.Single(scanner.ScanAll("AAA:Q8w7e6r5t4y3\nBBB:Z1x2c3v4b5n6"));
        Assert.Empty(scanner.ScanAll("AAA:Q8w7e6r5t4y3\n                       BBB:Z1x2c3v4b5n6"));
    }

    [Fact]
    public void Validator_drops_matches_that_fail_the_checksum()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "github-pat"
            regex = '''\b(ghp_[0-9a-zA-Z]{36})\b'''
            keywords = ["ghp_"]
            validate = "github-checksum"
            confidence = "high"
            identifiable = true
            """);
        var valid = FakeTokens.ChecksummedToken("ghp_", seed: 11);
        var invalid = FakeTokens.Corrupt(valid);
        var text = $"export GITHUB_TOKEN={valid}\nold={invalid}";

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal(valid, text.Substring(match.Start, match.Length));
        Assert.Equal(Confidence.High, match.Confidence);
        Assert.True(match.Identifiable);
        Assert.Equal(FindingCategory.Secret, match.Category);
    }

    [Fact]
    public void Airlock_extensions_set_category_confidence_identifiable()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "employee-id"
            regex = '''\bEMP-\d{6}\b'''
            keywords = ["emp-"]
            category = "personal-data"
            confidence = "low"
            identifiable = true
            """);

        var match = Assert.Single(scanner.ScanAll("owner EMP-004211 on call"));
        Assert.Equal(FindingCategory.PersonalData, match.Category);
        Assert.Equal(Confidence.Low, match.Confidence);
        Assert.True(match.Identifiable);
    }

    [Fact]
    public void Path_constrained_rules_need_a_matching_path()
    {
        var pack = RulePack.Parse("""
            [[rules]]
            id = "env-file-password"
            regex = '''PASSWORD=(\S{8,})'''
            path = '''\.env$'''
            keywords = ["password"]
            """, "test.toml");
        var scanner = new SecretScanner(pack);
        var text = "PASSWORD=Zq8Lm2Np4Rt6";
        var results = new List<TextMatch>();

        scanner.Scan(text, "app/.env", results);
        Assert.Single(results);
        results.Clear();
        scanner.Scan(text, "app/readme.md", results);
        Assert.Empty(results);
        Assert.Empty(scanner.ScanAll(text));
    }

    [Fact]
    public void Results_are_ordered_by_start_and_overlaps_of_different_rules_are_all_reported()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "zeta-token"
            regex = '''zt_[a-z0-9]{20}'''
            keywords = ["zt_"]
            [[rules]]
            id = "any-zt"
            regex = '''zt_\w+'''
            keywords = ["zt_"]
            """);
        var text = "b=zt_q8w7e6r5t4y3u2i1o0p9 a=zt_m1n2b3v4c5x6z7l8k9j0";

        var matches = scanner.ScanAll(text);
        Assert.Equal(4, matches.Count);
        Assert.Equal(matches.OrderBy(m => m.Start).Select(m => m.Start), matches.Select(m => m.Start));
        Assert.Equal(2, matches.Count(m => m.RuleId == "any-zt"));
    }

    [Fact]
    public void Lone_surrogates_in_the_input_do_not_break_scanning()
    {
        var scanner = Scanner("""
            [[rules]]
            id = "acme-token"
            regex = '''acme_[a-z0-9]{24}'''
            keywords = ["acme_"]
            """);
        var token = "acme_q8w7e6r5t4y3u2i1o0p9l8k7";
        var text = "\uD800 broken \uDC00 pair \uDBFF" + token + "\uDFFF\uD83D";

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal(token, text.Substring(match.Start, match.Length));
    }
}
