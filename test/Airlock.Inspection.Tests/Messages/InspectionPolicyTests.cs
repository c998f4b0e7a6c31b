using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Tests.Messages;

public class InspectionPolicyTests
{
    private static TextMatch Match(string rule, FindingCategory category, bool identifiable = false) =>
        new(rule, category, identifiable ? Confidence.High : Confidence.Medium, 0, 10, identifiable);

    [Fact]
    public void Defaults_redact_identifiable_secrets_and_private_keys_and_alert_on_the_rest()
    {
        var policy = InspectionPolicy.Default;

        Assert.Equal(InspectionAction.Redact, policy.Resolve(Match("github-pat", FindingCategory.Secret, identifiable: true), null));
        Assert.Equal(InspectionAction.Redact, policy.Resolve(Match("rsa-private-key", FindingCategory.Secret), null));
        Assert.Equal(InspectionAction.Alert, policy.Resolve(Match("generic-api-key", FindingCategory.Secret), null));
        Assert.Equal(InspectionAction.Alert, policy.Resolve(Match("pii-email", FindingCategory.PersonalData, identifiable: true), null));
        Assert.Equal(InspectionAction.Alert, policy.Resolve(Match("org-codename", FindingCategory.OrganizationTerm), null));
        Assert.Equal(InspectionAction.Alert, policy.ResolveOutput(Match("github-pat", FindingCategory.Secret, identifiable: true), null));
    }

    [Fact]
    public void Ordered_rules_match_by_glob_category_and_team_and_the_first_wins()
    {
        var policy = InspectionPolicy.Create(new InspectionPolicyOptions
        {
            Rules =
            [
                new ActionRule { RuleIds = ["aws-*"], Teams = ["payments"], Action = "block" },
                new ActionRule { RuleIds = ["aws-*", "gcp-?ey"], Action = "redact" },
                new ActionRule { Categories = ["personal-data"], Teams = ["Support"], Action = "redact" },
                new ActionRule { Categories = ["organization_term"], Action = "Block" },
            ],
            OutputRules = [new ActionRule { Categories = ["secret"], Action = "block" }],
        });

        Assert.Equal(InspectionAction.Block, policy.Resolve(Match("aws-secret-access-key", FindingCategory.Secret), "payments"));
        Assert.Equal(InspectionAction.Redact, policy.Resolve(Match("aws-secret-access-key", FindingCategory.Secret), "web"));
        Assert.Equal(InspectionAction.Redact, policy.Resolve(Match("aws-secret-access-key", FindingCategory.Secret), null));
        Assert.Equal(InspectionAction.Redact, policy.Resolve(Match("gcp-key", FindingCategory.Secret), null));
        Assert.Equal(InspectionAction.Alert, policy.Resolve(Match("gcp-keys", FindingCategory.Secret), null));
        Assert.Equal(InspectionAction.Redact, policy.Resolve(Match("pii-email", FindingCategory.PersonalData), "support"));
        Assert.Equal(InspectionAction.Alert, policy.Resolve(Match("pii-email", FindingCategory.PersonalData), "web"));
        Assert.Equal(InspectionAction.Block, policy.Resolve(Match("codename", FindingCategory.OrganizationTerm), null));
        Assert.Equal(InspectionAction.Block, policy.ResolveOutput(Match("generic", FindingCategory.Secret), null));
        Assert.Equal(InspectionAction.Alert, policy.ResolveOutput(Match("pii-email", FindingCategory.PersonalData), null));
    }

    [Fact]
    public void Output_default_can_be_block()
    {
        var policy = InspectionPolicy.Create(new InspectionPolicyOptions { OutputDefault = "block" });

        Assert.Equal(InspectionAction.Block, policy.ResolveOutput(Match("pii-email", FindingCategory.PersonalData), null));
        Assert.Equal(InspectionAction.Alert, policy.Resolve(Match("pii-email", FindingCategory.PersonalData), null));
    }

    [Fact]
    public void Validation_lists_every_error_with_its_path()
    {
        var options = new InspectionPolicyOptions
        {
            Rules =
            [
                new ActionRule { RuleIds = ["ok-*", "bad id!"], Action = "explode" },
                new ActionRule { Categories = ["secrets", "credit-cards"], Teams = [" "] },
            ],
            OutputRules = [new ActionRule { Action = "redact" }],
            OutputDefault = "redact",
        };

        var errors = InspectionPolicy.Validate(options);
        var exception = Assert.Throws<InspectionPolicyException>(() => InspectionPolicy.Create(options));

        Assert.Equal(
            ["rules[0].action", "rules[0].ruleIds[1]", "rules[1].action", "rules[1].categories[1]", "rules[1].teams[0]", "outputRules[0].action", "outputDefault"],
            errors.Select(e => e.Path));
        Assert.Equal(errors, exception.Errors);
        Assert.Contains("rules[0].action: 'explode' is not one of alert, redact, block", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_policy_validates_clean()
    {
        var options = new InspectionPolicyOptions { Rules = [new ActionRule { RuleIds = ["*"], Action = "alert" }] };

        Assert.Empty(InspectionPolicy.Validate(options));
        Assert.Equal(InspectionAction.Alert, InspectionPolicy.Create(options).Resolve(Match("github-pat", FindingCategory.Secret, identifiable: true), null));
    }
}
