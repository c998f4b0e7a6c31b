using System.Text.Json.Nodes;
using Airlock.Core.Aws.Policies;
using Airlock.Core.Configuration;

namespace Airlock.Tests.AwsPolicies;

/// <summary><c>airlock aws policy</c>: exact ARNs, profile destinations, VPC endpoint conditions, the SCP, stability, and lint-clean output.</summary>
public sealed class BedrockPolicyGeneratorTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private const string Role = "arn:aws:iam::123456789012:role/airlock-gateway";

    // Two Bedrock upstreams behind VPC endpoints: one direct foundation model, one geographic and one global profile.
    private const string Yaml = """
        level: 2
        upstreams:
          - name: bedrock-us
            kind: bedrock
            region: us-east-1
            url: https://vpce-0a1b2c3d4e5f60718-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com
            model_map:
              - match: "claude-sonnet-*"
                model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
              - match: "claude-haiku-*"
                model: "anthropic.claude-haiku-4-5-20251001-v1:0"
          - name: bedrock-global
            kind: bedrock
            region: eu-west-1
            url: https://vpce-0fedcba987654321a-zyxwvuts.bedrock-runtime.eu-west-1.vpce.amazonaws.com
            model_map:
              - match: "*"
                model: "global.anthropic.claude-opus-4-5-20251101-v1:0"
        routes:
          - models: ["claude-sonnet-*", "claude-haiku-*"]
            upstream: [bedrock-us, bedrock-global]
        """;

    private static AirlockConfig Config(string yaml = Yaml) => ConfigLoader.Parse(yaml, "airlock.yaml", "/srv", NoEnvironment);

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(n => n!.GetValue<string>())] : [node!.GetValue<string>()];

    [Fact]
    public void Role_policy_allows_only_the_two_invoke_actions_on_exact_arns_through_the_endpoints()
    {
        var set = BedrockPolicyGenerator.Generate(Config(), new BedrockPolicyOptions { RoleArn = Role, Targets = new() { AccountId = "123456789012" } });

        var statements = set.RolePolicy["Statement"]!.AsArray();
        Assert.Equal("2012-10-17", set.RolePolicy["Version"]!.GetValue<string>());
        foreach (var statement in statements)
        {
            Assert.Equal("Allow", statement!["Effect"]!.GetValue<string>());
            Assert.Equal(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], Strings(statement["Action"]));
        }
        var invoke = statements[0]!;
        Assert.Equal(
        [
            "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/global.anthropic.claude-opus-4-5-20251101-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        ], Strings(invoke["Resource"]));
        Assert.Equal(["vpce-0a1b2c3d4e5f60718", "vpce-0fedcba987654321a"], Strings(invoke["Condition"]!["StringEquals"]!["aws:SourceVpce"]));
        Assert.Equal(["vpce-0a1b2c3d4e5f60718", "vpce-0fedcba987654321a"], set.VpcEndpointIds);
    }

    [Fact]
    public void Models_behind_a_profile_are_allowed_in_every_destination_region_only_through_that_profile()
    {
        var set = BedrockPolicyGenerator.Generate(Config(), new BedrockPolicyOptions { RoleArn = Role, Targets = new() { AccountId = "123456789012" } });
        var statements = set.RolePolicy["Statement"]!.AsArray();
        Assert.Equal(3, statements.Count);

        var global = statements[1]!;
        Assert.Equal("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/global.anthropic.claude-opus-4-5-20251101-v1:0",
            global["Condition"]!["StringEquals"]!["bedrock:InferenceProfileArn"]!.GetValue<string>());
        // Global profiles: the source-region model and the region-less model ARN.
        Assert.Equal(
        [
            "arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0",
            "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0",
        ], Strings(global["Resource"]));

        var us = statements[2]!;
        Assert.Equal("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            us["Condition"]!["StringEquals"]!["bedrock:InferenceProfileArn"]!.GetValue<string>());
        Assert.Equal(
            new[] { "us-east-1", "us-east-2", "us-west-1", "us-west-2" }.Select(r => $"arn:aws:bedrock:{r}::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"),
            Strings(us["Resource"]));
    }

    [Fact]
    public void Endpoint_policy_admits_only_the_gateway_role_and_the_same_arns()
    {
        var set = BedrockPolicyGenerator.Generate(Config(), new BedrockPolicyOptions { RoleArn = Role });
        var statement = Assert.Single(set.EndpointPolicy["Statement"]!.AsArray())!;
        Assert.Equal(Role, statement["Principal"]!["AWS"]!.GetValue<string>());
        var resources = Strings(statement["Resource"]);
        Assert.Contains("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0", resources);
        Assert.Contains($"arn:aws:bedrock:us-east-1:{BedrockInvocationTargets.AccountVariable}:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", resources);
        Assert.Contains(set.Notes, n => n.Contains("--account-id", StringComparison.Ordinal));
    }

    [Fact]
    public void Scp_denies_invocation_outside_the_endpoints_and_bedrock_api_keys()
    {
        var set = BedrockPolicyGenerator.Generate(Config(), new BedrockPolicyOptions { RoleArn = Role });
        var statements = set.ServiceControlPolicy!["Statement"]!.AsArray();
        Assert.All(statements, s => Assert.Equal("Deny", s!["Effect"]!.GetValue<string>()));

        var profiles = statements.Single(s => s!["Sid"]!.GetValue<string>() == "DenyProfileInvocationOutsideEndpoint")!;
        Assert.Equal(["vpce-0a1b2c3d4e5f60718", "vpce-0fedcba987654321a"], Strings(profiles["Condition"]!["StringNotEquals"]!["aws:SourceVpce"]));
        var direct = statements.Single(s => s!["Sid"]!.GetValue<string>() == "DenyDirectModelInvocationOutsideEndpoint")!;
        Assert.Equal("true", direct["Condition"]!["Null"]!["bedrock:InferenceProfileArn"]!.GetValue<string>());

        var creation = statements.Single(s => s!["Sid"]!.GetValue<string>() == "DenyBedrockApiKeyCreation")!;
        Assert.Equal(["iam:CreateServiceSpecificCredential"], Strings(creation["Action"]));
        Assert.Equal("bedrock.amazonaws.com", creation["Condition"]!["StringEquals"]!["iam:ServiceSpecificCredentialServiceName"]!.GetValue<string>());
        var use = statements.Single(s => s!["Sid"]!.GetValue<string>() == "DenyBedrockApiKeyUse")!;
        Assert.Equal(["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"], Strings(use["Action"]));
    }

    [Fact]
    public void Generated_policies_lint_clean_and_are_byte_stable()
    {
        var options = new BedrockPolicyOptions { RoleArn = Role, Targets = new() { AccountId = "123456789012" } };
        var first = BedrockPolicyGenerator.Generate(Config(), options);
        var second = BedrockPolicyGenerator.Generate(Config(), options);

        foreach (var (name, policy, again) in new[]
        {
            (BedrockPolicySet.RolePolicyFile, first.RolePolicy, second.RolePolicy),
            (BedrockPolicySet.EndpointPolicyFile, first.EndpointPolicy, second.EndpointPolicy),
            (BedrockPolicySet.ServiceControlPolicyFile, first.ServiceControlPolicy!, second.ServiceControlPolicy!),
        })
        {
            var json = BedrockPolicySet.ToJson(policy);
            Assert.Equal(json, BedrockPolicySet.ToJson(again));
            Assert.Empty(PolicyLinter.Lint(name, json));
            Assert.EndsWith("}\n", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Without_a_vpc_endpoint_there_is_no_condition_no_scp_and_a_note_and_lint_reports_it()
    {
        var yaml = """
            level: 1
            upstreams:
              - name: bedrock
                kind: bedrock
                region: us-west-2
                model_map:
                  - match: "*"
                    model: "anthropic.claude-sonnet-4-5-20250929-v1:0"
            routes:
              - models: ["*"]
                upstream: bedrock
            """;
        var set = BedrockPolicyGenerator.Generate(Config(yaml), new BedrockPolicyOptions { RoleArn = Role });
        Assert.Null(set.ServiceControlPolicy);
        Assert.Null(set.RolePolicy["Statement"]![0]!["Condition"]);
        Assert.Contains(set.Notes, n => n.Contains("'bedrock'", StringComparison.Ordinal) && n.Contains("--vpce-id", StringComparison.Ordinal));
        var finding = Assert.Single(PolicyLinter.Lint("role.json", BedrockPolicySet.ToJson(set.RolePolicy)));
        Assert.Equal("missing-source-vpce", finding.Code);

        // Private DNS: the endpoint id given on the command line restores the condition and the SCP.
        var withId = BedrockPolicyGenerator.Generate(Config(yaml), new BedrockPolicyOptions { RoleArn = Role, VpcEndpointIds = ["vpce-11112222"] });
        Assert.Equal("vpce-11112222", withId.RolePolicy["Statement"]![0]!["Condition"]!["StringEquals"]!["aws:SourceVpce"]!.GetValue<string>());
        Assert.NotNull(withId.ServiceControlPolicy);
    }

    [Fact]
    public void Arns_in_model_maps_keep_their_region_and_account_and_govcloud_uses_its_partition()
    {
        var yaml = """
            level: 1
            upstreams:
              - name: gov
                kind: bedrock
                region: us-gov-west-1
                model_map:
                  - match: "a*"
                    model: "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0"
                  - match: "b*"
                    model: "arn:aws:bedrock:us-east-2:999988887777:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"
                  - match: "c*"
                    model: "arn:aws:bedrock:us-east-1:999988887777:application-inference-profile/abc123def456"
            routes:
              - models: ["*"]
                upstream: gov
            """;
        var set = BedrockPolicyGenerator.Generate(Config(yaml), new BedrockPolicyOptions { RoleArn = Role, Targets = new() { AccountId = "123456789012" } });
        var invoked = Strings(set.RolePolicy["Statement"]![0]!["Resource"]);
        Assert.Contains("arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", invoked);
        Assert.Contains("arn:aws:bedrock:us-east-2:999988887777:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0", invoked);
        Assert.Contains("arn:aws:bedrock:us-east-1:999988887777:application-inference-profile/abc123def456", invoked);
        Assert.Contains(set.Notes, n => n.Contains("application inference profiles", StringComparison.Ordinal));
        var behindGov = set.Targets.Single(t => t.Reference.Geography == "us-gov").ModelArnsBehindProfile;
        Assert.Equal(["arn:aws-us-gov:bedrock:us-gov-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"], behindGov);
    }

    [Fact]
    public void Every_problem_is_listed_and_no_policy_is_made()
    {
        var yaml = """
            level: 1
            upstreams:
              - name: bedrock
                kind: bedrock
                region: us-east-1
                model_map:
                  - match: "x*"
                    model: "xx.anthropic.claude-sonnet-4-5-20250929-v1:0"
                  - match: "y*"
                    model: "arn:aws:bedrock:us-east-1:123456789012:custom-model/abc"
            routes:
              - models: ["*"]
                upstream: bedrock
            """;
        var ex = Assert.Throws<BedrockPolicyException>(() => BedrockPolicyGenerator.Generate(Config(yaml), new BedrockPolicyOptions
        {
            RoleArn = "arn:aws:iam::1:user/bob",
            VpcEndpointIds = ["vpc-123"],
            Targets = new() { AccountId = "12" },
        }));
        Assert.Contains("custom-model", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'vpc-123' is not a VPC endpoint id", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is not an IAM role ARN", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'12' is not an AWS account id", ex.Message, StringComparison.Ordinal);

        var unknownGeo = Assert.Throws<BedrockPolicyException>(() => BedrockPolicyGenerator.Generate(
            Config(yaml.Replace("custom-model/abc", "foundation-model/anthropic.x", StringComparison.Ordinal))));
        Assert.Contains("no destination regions known for geography 'xx'", unknownGeo.Message, StringComparison.Ordinal);
        Assert.Contains("--geo xx=REGION,REGION", unknownGeo.Message, StringComparison.Ordinal);
        // Given with --geo, the geography is used as given.
        var given = BedrockPolicyGenerator.Generate(Config(yaml.Replace("custom-model/abc", "foundation-model/anthropic.x", StringComparison.Ordinal)),
            new BedrockPolicyOptions { Targets = new() { Geographies = new Dictionary<string, IReadOnlyList<string>> { ["xx"] = ["ca-central-1"] } } });
        Assert.Contains(given.Targets, t => t.ModelArnsBehindProfile.Contains("arn:aws:bedrock:ca-central-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"));

        var noBedrock = Assert.Throws<BedrockPolicyException>(() => BedrockPolicyGenerator.Generate(ConfigLoader.Parse("""
            level: 3
            upstreams:
              - name: local
                kind: messages
                url: http://10.0.0.5:8000
            routes:
              - models: ["*"]
                upstream: local
            """, "airlock.yaml", "/srv", NoEnvironment)));
        Assert.Contains("no upstream of kind bedrock", noBedrock.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unmapped_route_patterns_and_regions_outside_allowed_regions_are_noted()
    {
        var yaml = """
            level: 1
            upstreams:
              - name: bedrock
                kind: bedrock
                region: us-east-1
                model_map:
                  - match: "claude-sonnet-*"
                    model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            routes:
              - models: ["claude-sonnet-*", "claude-opus-*", "anthropic.claude-3-haiku-20240307-v1:0"]
                upstream: bedrock
            """;
        // Startup refuses such a file (the residency check); the generator still says why when handed one.
        var set = BedrockPolicyGenerator.Generate(Config(yaml) with { AllowedRegions = ["us-east-1", "us-east-2"] });
        Assert.Contains(set.Notes, n => n.Contains("'claude-opus-*'", StringComparison.Ordinal));
        Assert.Contains(set.Notes, n => n.Contains("us-west-1, us-west-2, outside allowed_regions", StringComparison.Ordinal));
        Assert.Contains(set.Targets, t => t.InvokedArn == "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0");
        // Naming the geography accepts every region of its profiles.
        Assert.DoesNotContain(BedrockPolicyGenerator.Generate(Config(yaml) with { AllowedRegions = ["us-east-1", "us"] }).Notes,
            n => n.Contains("outside allowed_regions", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("vpce-0a1b2c3d4e5f60718-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com", "vpce-0a1b2c3d4e5f60718")]
    [InlineData("vpce-0a1b2c3d-abcdefgh-us-east-1a.bedrock-runtime.us-east-1.vpce.amazonaws.com", "vpce-0a1b2c3d")]
    [InlineData("bedrock-runtime.us-east-1.amazonaws.com", null)]
    [InlineData("vpce-0a1b2c3d-abcdefgh.ec2.us-east-1.vpce.amazonaws.com", null)]
    public void Vpc_endpoint_ids_are_read_from_host_names(string host, string? id) => Assert.Equal(id, BedrockPolicyGenerator.VpcEndpointId(host));
}
