using System.Net;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

/// <summary>
/// A Bedrock upstream's AWS credential source under level 2: which source and endpoints <see cref="AwsCredentialSource"/>
/// finds (the SDK's order), the <c>upstream.aws_credentials</c> check the evaluator (startup, posture) makes of them,
/// and the metadata rule that lets a credential fetch reach exactly the well-known metadata addresses.
/// </summary>
public sealed class AwsCredentialEndpointTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "airlock-awssrc-" + Guid.NewGuid().ToString("N"));

    public AwsCredentialEndpointTests() => Directory.CreateDirectory(_home);

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private static UpstreamConfig Bedrock(string? apiKeyEnv = null) => new()
    {
        Name = "bedrock",
        Kind = UpstreamKind.Bedrock,
        Region = "eu-central-1",
        Url = new Uri("https://10.0.7.12"),
        ApiKeyEnv = apiKeyEnv,
    };

    private static AirlockConfig Level2(UpstreamConfig upstream, int level = 2) => new()
    {
        Level = level,
        DataDir = "data",
        Upstreams = [upstream],
        Routes = [new RouteConfig { Models = ["*"], Upstream = upstream.Name }],
        Source = "airlock.yaml",
    };

    private Func<string, string?> Environment(Dictionary<string, string> variables) => name =>
        variables.TryGetValue(name, out var value) ? value : name == "HOME" ? _home : null;

    private string WriteConfig(string text)
    {
        Directory.CreateDirectory(Path.Combine(_home, ".aws"));
        var path = Path.Combine(_home, ".aws", "config");
        File.WriteAllText(path, text);
        return path;
    }

    private static readonly Dictionary<string, string> WebIdentity = new()
    {
        ["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        ["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/airlock-gateway",
    };

    [Fact]
    public void Environment_keys_come_first_and_dial_nothing()
    {
        var source = AwsCredentialSource.For(Bedrock(), Environment(new(WebIdentity) { ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE", ["AWS_SECRET_ACCESS_KEY"] = "secret-EXAMPLE" }));

        Assert.Equal(AwsCredentialKind.StaticKeys, source.Kind);
        Assert.Empty(source.Endpoints);
        Assert.DoesNotContain("secret-EXAMPLE", source.Description + source.StaticKeys, StringComparison.Ordinal);
    }

    [Fact]
    public void Web_identity_dials_the_regional_sts_endpoint_of_the_configured_region_or_the_upstreams()
    {
        var withRegion = AwsCredentialSource.For(Bedrock(), Environment(new(WebIdentity) { ["AWS_REGION"] = "eu-west-1" }));
        var upstreamRegion = AwsCredentialSource.For(Bedrock(), Environment(WebIdentity));

        Assert.Equal(AwsCredentialKind.WebIdentity, withRegion.Kind);
        Assert.Equal(new Uri("https://sts.eu-west-1.amazonaws.com"), Assert.Single(withRegion.Endpoints).Uri);
        Assert.Equal("STS", withRegion.Endpoints[0].Role);
        Assert.False(withRegion.Endpoints[0].HostLocal);
        Assert.Equal(new Uri("https://sts.eu-central-1.amazonaws.com"), Assert.Single(upstreamRegion.Endpoints).Uri);
        Assert.Equal("arn:aws:iam::123456789012:role/airlock-gateway", withRegion.WebIdentity!.RoleArn);
    }

    [Fact]
    public void The_sts_endpoint_override_is_the_service_variable_then_the_general_one_then_the_profile()
    {
        WriteConfig("""
            [default]
            region = us-west-2
            endpoint_url = https://vpce-profile.sts.us-west-2.vpce.amazonaws.com
            """);

        var service = AwsCredentialSource.For(Bedrock(), Environment(new(WebIdentity)
        {
            ["AWS_ENDPOINT_URL_STS"] = "https://vpce-1a2b.sts.eu-central-1.vpce.amazonaws.com",
            ["AWS_ENDPOINT_URL"] = "https://general.example.test",
        }));
        var general = AwsCredentialSource.For(Bedrock(), Environment(new(WebIdentity) { ["AWS_ENDPOINT_URL"] = "https://general.example.test" }));
        var profile = AwsCredentialSource.For(Bedrock(), Environment(WebIdentity));
        var ignored = AwsCredentialSource.For(Bedrock(), Environment(new(WebIdentity) { ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true" }));

        Assert.Equal("vpce-1a2b.sts.eu-central-1.vpce.amazonaws.com", service.Endpoints[0].Uri.Host);
        Assert.Equal("general.example.test", general.Endpoints[0].Uri.Host);
        Assert.Equal("vpce-profile.sts.us-west-2.vpce.amazonaws.com", profile.Endpoints[0].Uri.Host);
        Assert.Equal("sts.us-west-2.amazonaws.com", ignored.Endpoints[0].Uri.Host);
    }

    [Fact]
    public void An_sso_session_profile_dials_the_portal_and_the_oidc_refresh_endpoint_and_reads_the_cli_cache()
    {
        WriteConfig("""
            [profile gateway]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = airlock-gateway

            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-central-1
            """);

        var source = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_PROFILE"] = "gateway", ["AWS_ENDPOINT_URL_SSO"] = "https://portal.sso.corp.test" }));

        Assert.Equal(AwsCredentialKind.Sso, source.Kind);
        Assert.Equal(["SSO portal", "SSO OIDC token refresh"], source.Endpoints.Select(e => e.Role));
        Assert.Equal("portal.sso.corp.test", source.Endpoints[0].Uri.Host);
        Assert.Equal("oidc.eu-central-1.amazonaws.com", source.Endpoints[1].Uri.Host);
        var name = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("corp")));
        Assert.Equal(Path.Combine(_home, ".aws", "sso", "cache", name + ".json"), source.Sso!.TokenCacheFile);
    }

    [Fact]
    public void Sources_the_guard_cannot_hold_are_problems_naming_the_profile()
    {
        WriteConfig("""
            [profile process]
            credential_process = /usr/local/bin/fetch-creds

            [profile chained]
            role_arn = arn:aws:iam::123456789012:role/other
            source_profile = base
            """);

        var process = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_PROFILE"] = "process" }));
        var chained = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_PROFILE"] = "chained" }));
        var missing = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_PROFILE"] = "nowhere" }));

        Assert.Contains("profile 'process' uses credential_process", process.Problem, StringComparison.Ordinal);
        Assert.Contains("profile 'chained' assumes role_arn from source_profile 'base'", chained.Problem, StringComparison.Ordinal);
        Assert.Contains("AWS_PROFILE names profile 'nowhere'", missing.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Container_and_instance_metadata_are_host_local_endpoints()
    {
        var ecs = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc" }));
        var imds = AwsCredentialSource.For(Bedrock(), Environment([]));
        var imdsV6 = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = "IPv6" }));
        var none = AwsCredentialSource.For(Bedrock(), Environment(new() { ["AWS_EC2_METADATA_DISABLED"] = "true" }));

        Assert.Equal(new Uri("http://169.254.170.2/v2/credentials/abc"), Assert.Single(ecs.Endpoints).Uri);
        Assert.True(ecs.Endpoints[0].HostLocal);
        Assert.Equal(new Uri("http://169.254.169.254"), Assert.Single(imds.Endpoints).Uri);
        Assert.Equal(AwsCredentialKind.InstanceMetadata, imds.Kind);
        Assert.Equal("[fd00:ec2::254]", imdsV6.Endpoints[0].Uri.Host);
        Assert.Equal(AwsCredentialKind.None, none.Kind);
        Assert.NotNull(none.Problem);
    }

    [Theory]
    [InlineData("169.254.169.254", true)]
    [InlineData("169.254.170.2", true)]
    [InlineData("169.254.170.23", true)]
    [InlineData("fd00:ec2::254", true)]
    [InlineData("::ffff:169.254.169.254", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("169.254.1.1", false)]
    [InlineData("169.254.170.3", false)]
    [InlineData("fe80::1", false)]
    [InlineData("52.94.1.1", false)]
    [InlineData("100.64.0.1", false)]
    public void The_metadata_rule_allows_exactly_the_well_known_metadata_addresses_and_the_host(string address, bool allowed)
    {
        var rule = EgressRule.ForMetadataCredentials(Level2(Bedrock()));

        Assert.Equal(allowed, rule.Check("metadata.test", [IPAddress.Parse(address)]) is null);
        // The level's own rule, for STS, SSO and upstreams, allows neither metadata nor loopback.
        if (address is "169.254.169.254" or "169.254.170.2" or "127.0.0.1")
        {
            Assert.NotNull(EgressRule.For(Level2(Bedrock())).Check("metadata.test", [IPAddress.Parse(address)]));
        }
    }

    [Fact]
    public async Task Level_2_fails_a_public_sts_endpoint_and_startup_lists_it()
    {
        var config = Level2(Bedrock());
        var resolver = new StubResolver(new() { ["sts.eu-central-1.amazonaws.com"] = ["52.94.1.1"] });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, Environment(WebIdentity));

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.aws_credentials");
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Equal("bedrock", check.Upstream);
        Assert.Contains("52.94.1.1 (public)", check.Evidence, StringComparison.Ordinal);
        var violation = Assert.Single(EgressEvaluator.Violations(config, report));
        Assert.StartsWith("upstreams[0] (bedrock): STS endpoint https://sts.eu-central-1.amazonaws.com (web identity", violation, StringComparison.Ordinal);
        Assert.Contains("VPC endpoint", violation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Level_2_passes_a_private_sts_endpoint_with_its_addresses_as_evidence()
    {
        var config = Level2(Bedrock());
        var resolver = new StubResolver(new() { ["sts.eu-central-1.amazonaws.com"] = ["10.0.9.20", "10.0.10.20"] });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, Environment(WebIdentity));

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.aws_credentials");
        Assert.Equal(CheckStatus.Pass, check.Status);
        Assert.Contains("sts.eu-central-1.amazonaws.com → 10.0.9.20 (private RFC 1918), 10.0.10.20 (private RFC 1918)", check.Evidence, StringComparison.Ordinal);
        Assert.Contains("role arn:aws:iam::123456789012:role/airlock-gateway", check.Evidence, StringComparison.Ordinal);
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task Level_2_passes_instance_metadata_as_host_local_and_refuses_another_link_local_endpoint()
    {
        var config = Level2(Bedrock());
        var resolver = new StubResolver(new() { ["imds.corp.test"] = ["169.254.10.10"] });

        var metadata = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, Environment([]));
        var elsewhere = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None,
            Environment(new() { ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://imds.corp.test" }));

        var pass = Assert.Single(metadata.Checks, c => c.Id == "upstream.aws_credentials");
        Assert.Equal(CheckStatus.Pass, pass.Status);
        Assert.Contains("instance metadata endpoint http://169.254.169.254", pass.Evidence, StringComparison.Ordinal);
        Assert.Contains("never leaves the host", pass.Evidence, StringComparison.Ordinal);
        var fail = Assert.Single(elsewhere.Checks, c => c.Id == "upstream.aws_credentials");
        Assert.Equal(CheckStatus.Fail, fail.Status);
        Assert.Contains("169.254.10.10 (link-local)", fail.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_the_guard_cannot_hold_fails_level_2_offline_too()
    {
        WriteConfig("""
            [default]
            credential_process = /usr/local/bin/fetch-creds
            """);

        var report = EgressEvaluator.Evaluate(Level2(Bedrock()), Environment([]));

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.aws_credentials");
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Contains("credential_process", check.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Offline_a_named_sts_host_is_unknown_and_static_keys_pass()
    {
        var named = EgressEvaluator.Evaluate(Level2(Bedrock()), Environment(WebIdentity));
        var keys = EgressEvaluator.Evaluate(Level2(Bedrock()), Environment(new() { ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE", ["AWS_SECRET_ACCESS_KEY"] = "secret-EXAMPLE" }));

        Assert.Equal(CheckStatus.Unknown, Assert.Single(named.Checks, c => c.Id == "upstream.aws_credentials").Status);
        var pass = Assert.Single(keys.Checks, c => c.Id == "upstream.aws_credentials");
        Assert.Equal(CheckStatus.Pass, pass.Status);
        Assert.Contains("no credential endpoint is dialed", pass.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_1_an_api_key_and_level_3_check_no_aws_credential_endpoint()
    {
        var read = new List<string>();
        Func<string, string?> env = name => { read.Add(name); return Environment(WebIdentity)(name); };

        Assert.DoesNotContain(EgressEvaluator.Evaluate(Level2(Bedrock(), level: 1), env).Checks, c => c.Id == "upstream.aws_credentials");
        Assert.DoesNotContain(EgressEvaluator.Evaluate(Level2(Bedrock(apiKeyEnv: "BEDROCK_KEY")), env).Checks, c => c.Id == "upstream.aws_credentials");
        Assert.DoesNotContain(EgressEvaluator.Evaluate(Level2(Bedrock(), level: 3), env).Checks, c => c.Id == "upstream.aws_credentials");
        // Not one AWS variable was read to decide that: no credential code ran.
        Assert.DoesNotContain(read, n => n.StartsWith("AWS_", StringComparison.Ordinal));
    }
}
