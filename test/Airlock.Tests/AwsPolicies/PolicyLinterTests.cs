using Airlock.Core.Aws.Policies;

namespace Airlock.Tests.AwsPolicies;

/// <summary><c>airlock aws lint</c>: one test per finding, Deny statements left alone, malformed files with precise positions.</summary>
public sealed class PolicyLinterTests
{
    private static IReadOnlyList<PolicyFinding> Lint(string statements) =>
        PolicyLinter.Lint("p.json", $$"""{"Version": "2012-10-17", "Statement": [{{statements}}]}""");

    private const string Vpce = """ "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}} """;

    [Fact]
    public void Star_action_and_star_resource_are_high()
    {
        var findings = Lint("""{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}""");
        Assert.Contains(findings, f => f is { Code: "wildcard-action", Severity: PolicyFindingSeverity.High, StatementIndex: 0, Sid: "Everything" });
        Assert.Contains(findings, f => f is { Code: "wildcard-resource", Severity: PolicyFindingSeverity.High });
        // "*" also grants API keys and unconditioned invocation.
        Assert.Contains(findings, f => f.Code == "api-keys-allowed");
        Assert.Contains(findings, f => f.Code == "missing-source-vpce");
    }

    [Fact]
    public void Bedrock_star_is_its_own_finding()
    {
        var findings = Lint($$"""{"Effect": "Allow", "Action": ["bedrock:*"], "Resource": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-x", {{Vpce}}}""");
        Assert.Contains(findings, f => f is { Code: "bedrock-star", Severity: PolicyFindingSeverity.High });
        Assert.Contains(findings, f => f.Code == "api-keys-allowed" && f.Message.Contains("CallWithBearerToken", StringComparison.Ordinal));
        Assert.DoesNotContain(findings, f => f.Code == "missing-source-vpce");
    }

    [Fact]
    public void Partial_wildcards_are_medium_with_a_fix()
    {
        var findings = Lint($$"""{"Effect": "Allow", "Action": "bedrock:InvokeModel*", "Resource": "arn:aws:bedrock:*::foundation-model/*", {{Vpce}}}""");
        var action = Assert.Single(findings, f => f.Code == "wildcard-action");
        Assert.Equal(PolicyFindingSeverity.Medium, action.Severity);
        var resource = Assert.Single(findings, f => f.Code == "wildcard-resource");
        Assert.Equal(PolicyFindingSeverity.Medium, resource.Severity);
        Assert.Contains("exact ARNs", resource.Fix, StringComparison.Ordinal);
        Assert.Equal(2, findings.Count);
    }

    [Fact]
    public void A_wildcard_arn_is_named_by_its_service_and_the_parts_that_hold_the_wildcard()
    {
        var bedrock = Assert.Single(Lint($$"""{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*", {{Vpce}}}"""), f => f.Code == "wildcard-resource");
        Assert.Contains("matches models and inference profiles or regions not reviewed", bedrock.Message, StringComparison.Ordinal);

        var s3 = Assert.Single(Lint("""{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::audit-bucket/*"}"""), f => f.Code == "wildcard-resource");
        Assert.Contains("matches s3 resources not reviewed", s3.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("model", s3.Message + s3.Fix, StringComparison.Ordinal);
        Assert.Contains("exact s3 ARNs", s3.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_without_source_vpce_is_flagged_with_statement_index_and_sid()
    {
        var findings = Lint("""
            {"Sid": "Fine", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/key"},
            {"Sid": "Invoke", "Effect": "Allow", "Action": ["bedrock:InvokeModel"], "Resource": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-x"}
            """);
        var finding = Assert.Single(findings);
        Assert.Equal(("missing-source-vpce", 1, "Invoke"), (finding.Code, finding.StatementIndex, finding.Sid));
        Assert.Equal("p.json: Statement[1] (Invoke): medium missing-source-vpce: Bedrock invocation is allowed from anywhere: no aws:SourceVpce condition. "
            + "Fix: add \"Condition\": {\"StringEquals\": {\"aws:SourceVpce\": \"vpce-…\"}} naming the Bedrock Runtime VPC endpoint", finding.ToString());
    }

    [Fact]
    public void Api_keys_allowed_by_call_with_bearer_token_or_credential_creation()
    {
        Assert.Contains(Lint("""{"Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*"}"""), f => f.Code == "api-keys-allowed");
        Assert.Contains(Lint("""{"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "arn:aws:iam::123456789012:user/dev"}"""),
            f => f.Code == "api-keys-allowed" && f.Message.Contains("long-term", StringComparison.Ordinal));
        Assert.Contains(Lint("""{"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:user/dev"}"""), f => f.Code == "api-keys-allowed");
        // Credential creation limited to CodeCommit is not a Bedrock key.
        Assert.DoesNotContain(Lint("""
            {"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "arn:aws:iam::123456789012:user/dev",
             "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": "codecommit.amazonaws.com"}}}
            """), f => f.Code == "api-keys-allowed");
    }

    [Fact]
    public void Not_action_and_not_resource_allows_are_high()
    {
        var findings = Lint("""{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}""");
        Assert.Contains(findings, f => f is { Code: "not-action", Severity: PolicyFindingSeverity.High });
        Assert.Contains(findings, f => f is { Code: "not-resource", Severity: PolicyFindingSeverity.High });
    }

    [Fact]
    public void Public_principal_without_condition_is_flagged_and_resource_policies_need_no_source_vpce()
    {
        var findings = Lint("""{"Effect": "Allow", "Principal": "*", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:us-east-1::foundation-model/a.b"}""");
        Assert.Equal("public-principal", Assert.Single(findings).Code);
        Assert.Empty(Lint("""{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/gw"}, "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:us-east-1::foundation-model/a.b"}"""));
    }

    [Fact]
    public void Deny_statements_are_never_flagged_and_a_single_statement_object_is_read()
    {
        Assert.Empty(Lint("""{"Effect": "Deny", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "bedrock:*", "Resource": "*"}"""));
        var single = PolicyLinter.Lint("p.json", """{"Statement": {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}}""");
        Assert.Contains(single, f => f.Code == "bedrock-star" && f.StatementIndex == 0);
    }

    [Fact]
    public void Action_matching_follows_iam_wildcards_case_insensitively()
    {
        Assert.True(PolicyLinter.ActionMatches("bedrock:invoke*", "bedrock:InvokeModelWithResponseStream"));
        Assert.True(PolicyLinter.ActionMatches("bedrock:Call?ithBearerToken", "bedrock:CallWithBearerToken"));
        Assert.True(PolicyLinter.ActionMatches("*", "iam:CreateServiceSpecificCredential"));
        Assert.False(PolicyLinter.ActionMatches("bedrock:Invoke", "bedrock:InvokeModel"));
        Assert.False(PolicyLinter.ActionMatches("bedrock-mantle:*", "bedrock:CallWithBearerToken"));
    }

    [Theory]
    [InlineData("{\"Statement\": [\n  {\"Effect\": \"Allow\",}\n]}", "p.json:2:22: not valid JSON")]
    [InlineData("{\"Statement\": [", "p.json:1:16: not valid JSON")]
    [InlineData("{\"Statement\": [] // comment\n}", "p.json:1:18: not valid JSON")]
    [InlineData("[1, 2]", "p.json: a policy is a JSON object, this is an array")]
    [InlineData("{\"Version\": \"2012-10-17\"}", "p.json: no \"Statement\" element")]
    [InlineData("{\"Statement\": \"Allow\"}", "p.json: \"Statement\" must be an object or an array of objects, it is a string")]
    [InlineData("{\"Statement\": [{\"Effect\": \"allow\", \"Action\": \"*\", \"Resource\": \"*\"}]}", "p.json: Statement[0]: \"Effect\" must be \"Allow\" or \"Deny\"")]
    [InlineData("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": [1], \"Resource\": \"*\"}]}", "p.json: Statement[0]: \"Action\"[0] must be a string, it is a number")]
    [InlineData("{\"Statement\": [{\"Effect\": \"Allow\", \"Resource\": \"*\"}]}", "p.json: Statement[0]: exactly one of \"Action\" and \"NotAction\" is required")]
    [InlineData("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\"}]}", "p.json: Statement[0]: \"Resource\" or \"NotResource\" is required")]
    [InlineData("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\", \"Condition\": []}]}", "p.json: Statement[0]: \"Condition\" must be an object of operators, it is an array")]
    [InlineData("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": [], \"Resource\": \"*\"}]}", "p.json: Statement[0]: \"Action\" is an empty array")]
    public void Malformed_files_get_a_precise_error(string json, string expected)
    {
        var ex = Assert.Throws<PolicyFormatException>(() => PolicyLinter.Lint("p.json", json));
        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
        // The position is given once, in front, the way compilers print it.
        Assert.DoesNotContain("LineNumber", ex.Message, StringComparison.Ordinal);
    }
}
