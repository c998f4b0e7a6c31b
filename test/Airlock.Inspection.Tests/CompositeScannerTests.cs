using Airlock.Inspection.Tests.Secrets;

namespace Airlock.Inspection.Tests;

public class CompositeScannerTests
{
    [Fact]
    public void Combines_scanners_and_orders_by_start()
    {
        var secrets = new SecretScanner(RulePack.Parse("""
            [[rules]]
            id = "acme-token"
            regex = '''acme_[a-z0-9]{24}'''
            keywords = ["acme_"]
            """, "t.toml"));
        var scanner = new CompositeScanner(secrets, new PersonalDataScanner(), new OrganizationTermScanner([new OrganizationTermList("codenames", ["Falcon"])]));
        var text = "Falcon owner jane.doe@acme-corp.io uses acme_q8w7e6r5t4y3u2i1o0p9l8k7";

        var matches = scanner.ScanAll(text);

        Assert.Equal(["org-codenames", "pii-email", "acme-token"], matches.Ids());
    }

    [Fact]
    public void Default_factory_uses_the_built_in_pack_and_personal_data()
    {
        Assert.True(RulePack.HasBuiltIn, "rules/secrets.toml must be embedded");
        var scanner = ScannerFactory.CreateDefault();
        var token = FakeTokens.ChecksummedToken("ghp_", 77);
        var text = $"GITHUB_TOKEN={token}\nowner: jane.doe@acme-corp.io";

        var matches = scanner.ScanAll(text);

        Assert.Contains(matches, m => m.Category == FindingCategory.Secret && text.Substring(m.Start, m.Length).Contains(token, StringComparison.Ordinal));
        Assert.Contains(matches, m => m.RuleId == PersonalDataScanner.EmailRuleId);
    }
}
