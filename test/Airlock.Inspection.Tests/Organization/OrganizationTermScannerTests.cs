using Airlock.Inspection.Tests.Secrets;

namespace Airlock.Inspection.Tests.Organization;

public class OrganizationTermScannerTests
{
    [Fact]
    public void Terms_match_case_insensitively_on_word_boundaries_with_one_rule_id_per_list()
    {
        var scanner = new OrganizationTermScanner(
        [
            new OrganizationTermList("Customers", ["Acme", "Globex Corporation"]),
            new OrganizationTermList("codenames", ["Falcon"], confidence: Confidence.High),
        ]);
        var text = "ACME and globex corporation signed; Acmeville, pre_acme and falconry do not count; Project FALCON.";

        var matches = scanner.ScanAll(text);

        Assert.Equal(["ACME", "globex corporation", "FALCON"], matches.Values(text));
        Assert.Equal(["org-customers", "org-customers", "org-codenames"], matches.Ids());
        Assert.Equal(Confidence.High, matches[2].Confidence);
        Assert.All(matches, m => Assert.Equal(FindingCategory.OrganizationTerm, m.Category));
    }

    [Fact]
    public void Patterns_run_linear_and_report_under_the_list_id()
    {
        var scanner = new OrganizationTermScanner([new OrganizationTermList("tickets", patterns: [@"\bPRJ-[0-9]{4}\b"])]);
        var text = "fixes prj-1234 and PRJ-99999";

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal("org-tickets", match.RuleId);
        Assert.Equal("prj-1234", text.Substring(match.Start, match.Length));
    }

    [Fact]
    public void Bad_patterns_fail_loading_with_the_list_id()
    {
        var ex = Assert.Throws<RulePackException>(() => new OrganizationTermList("tickets", patterns: ["(unclosed", @"(a)\1"]));
        Assert.Equal(2, ex.Errors.Count);
        Assert.All(ex.Errors, e => Assert.StartsWith("org-tickets: pattern #", e, StringComparison.Ordinal));
    }

    [Fact]
    public void Dictionary_files_have_one_term_per_line_and_comments()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["# customers", "", "  Initech  ", "Umbrella Corp", "initech"]);
            var list = OrganizationTermList.FromFile("customers", path);
            Assert.Equal(["Initech", "Umbrella Corp"], list.Terms);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Large_dictionary_scans_in_one_pass()
    {
        var terms = Enumerable.Range(0, 20_000).Select(i => $"Customer{i:D5}").ToList();
        var scanner = new OrganizationTermScanner([new OrganizationTermList("customers", terms)]);
        var text = string.Concat(Enumerable.Repeat("ordinary text about the build pipeline; ", 5_000)) + "ticket for customer01234 ";

        var match = Assert.Single(scanner.ScanAll(text));
        Assert.Equal("customer01234", text.Substring(match.Start, match.Length));
    }
}
