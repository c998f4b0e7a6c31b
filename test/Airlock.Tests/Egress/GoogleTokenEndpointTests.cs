using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

/// <summary>
/// A Vertex upstream's OAuth token endpoint under the level: which file and endpoints <see cref="GoogleTokenSource"/>
/// finds, and the <c>upstream.token_endpoint</c> check the evaluator (startup, posture) makes of them.
/// </summary>
public sealed class GoogleTokenEndpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "airlock-token-" + Guid.NewGuid().ToString("N"));

    public GoogleTokenEndpointTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string WriteCredential(string name, Dictionary<string, string> fields)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, JsonSerializer.Serialize(fields));
        return path;
    }

    private string ServiceAccount(string tokenUri) => WriteCredential("sa.json", new()
    {
        ["type"] = "service_account",
        ["client_email"] = "gw@p.iam.gserviceaccount.com",
        ["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n",
        ["token_uri"] = tokenUri,
    });

    private static AirlockConfig Level2(UpstreamConfig vertex) => new()
    {
        Level = 2,
        DataDir = "data",
        Upstreams = [vertex],
        Routes = [new RouteConfig { Models = ["*"], Upstream = vertex.Name }],
        Source = "airlock.yaml",
    };

    private static UpstreamConfig Vertex(string? credentialsFile) => new()
    {
        Name = "vertex",
        Kind = UpstreamKind.Vertex,
        Region = "us-east5",
        Project = "p",
        Url = new Uri("https://10.20.0.5"),
        CredentialsFile = credentialsFile,
    };

    [Fact]
    public void A_service_account_dials_its_token_uri()
    {
        var file = ServiceAccount("https://oauth2.psc.corp.test/token");

        var source = GoogleTokenSource.For(Vertex(file), _ => null);

        Assert.Equal(file, source.CredentialFile);
        Assert.Equal("service_account", source.CredentialType);
        Assert.Equal([new Uri("https://oauth2.psc.corp.test/token")], source.Endpoints);
        Assert.Null(source.Problem);
    }

    [Fact]
    public void The_file_is_found_like_application_default_credentials()
    {
        var authorizedUser = WriteCredential("adc.json", new() { ["type"] = "authorized_user", ["refresh_token"] = "1//secret-refresh" });
        var gcloud = Path.Combine(_directory, "gcloud");
        Directory.CreateDirectory(gcloud);
        File.Copy(authorizedUser, Path.Combine(gcloud, "application_default_credentials.json"));

        var fromVariable = GoogleTokenSource.For(Vertex(null), name => name == "GOOGLE_APPLICATION_CREDENTIALS" ? authorizedUser : null);
        var fromGcloud = GoogleTokenSource.For(Vertex(null), name => name == "CLOUDSDK_CONFIG" ? gcloud : null);
        var none = GoogleTokenSource.For(Vertex(null), name => name == "HOME" ? _directory : null);

        Assert.Equal(authorizedUser, fromVariable.CredentialFile);
        Assert.Equal([GoogleTokenSource.DefaultTokenUri], fromVariable.Endpoints);
        Assert.Equal(Path.Combine(gcloud, "application_default_credentials.json"), fromGcloud.CredentialFile);
        Assert.Null(none.CredentialFile);
        Assert.Empty(none.Endpoints);
    }

    [Fact]
    public void Workload_identity_federation_dials_sts_and_the_impersonation_endpoint()
    {
        var file = WriteCredential("wif.json", new()
        {
            ["type"] = "external_account",
            ["token_url"] = "https://sts.googleapis.com/v1/token",
            ["service_account_impersonation_url"] = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/gw@p.iam.gserviceaccount.com:generateAccessToken",
        });

        var source = GoogleTokenSource.For(Vertex(file), _ => null);

        Assert.Equal(["sts.googleapis.com", "iamcredentials.googleapis.com"], source.Endpoints.Select(e => e.Host));
    }

    [Fact]
    public void A_malformed_file_is_a_problem_that_never_quotes_the_content()
    {
        var path = Path.Combine(_directory, "broken.json");
        File.WriteAllText(path, "{\"type\":\"service_account\",\"private_key\":\"SECRET-KEY-MATERIAL\"");

        var source = GoogleTokenSource.For(Vertex(path), _ => null);

        Assert.Empty(source.Endpoints);
        Assert.Contains(path, source.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET-KEY-MATERIAL", source.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Level_2_passes_a_token_endpoint_that_resolves_private_with_the_addresses_as_evidence()
    {
        var config = Level2(Vertex(ServiceAccount("https://oauth2.psc.corp.test/token")));
        var resolver = new StubResolver(new() { ["oauth2.psc.corp.test"] = ["10.20.0.9"] });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, _ => null);

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.token_endpoint");
        Assert.Equal(CheckStatus.Pass, check.Status);
        Assert.Equal("vertex", check.Upstream);
        Assert.Contains("https://oauth2.psc.corp.test/token (service_account credential file", check.Evidence, StringComparison.Ordinal);
        Assert.Contains("oauth2.psc.corp.test → 10.20.0.9 (private RFC 1918)", check.Evidence, StringComparison.Ordinal);
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task Level_2_fails_the_public_google_token_endpoint_and_startup_lists_it()
    {
        var config = Level2(Vertex(ServiceAccount("https://oauth2.googleapis.com/token")));
        var resolver = new StubResolver(new() { ["oauth2.googleapis.com"] = ["142.250.1.95"] });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, _ => null);

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.token_endpoint");
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Contains("142.250.1.95 (public)", check.Evidence, StringComparison.Ordinal);
        var violation = Assert.Single(EgressEvaluator.Violations(config, report));
        Assert.StartsWith("upstreams[0] (vertex): token endpoint https://oauth2.googleapis.com/token", violation, StringComparison.Ordinal);
        Assert.Contains("Private Service Connect", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_2_without_a_credential_file_passes_the_metadata_server_as_host_local()
    {
        var config = Level2(Vertex(null));

        var report = EgressEvaluator.Evaluate(config, _ => null);

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.token_endpoint");
        Assert.Equal(CheckStatus.Pass, check.Status);
        Assert.Contains("token endpoint http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token (the metadata server", check.Evidence, StringComparison.Ordinal);
        Assert.Contains("169.254.169.254 (cloud metadata service); link-local or loopback metadata, never leaves the host", check.Evidence, StringComparison.Ordinal);
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task Level_2_refuses_a_metadata_host_that_resolves_to_another_link_local_address()
    {
        var config = Level2(Vertex(null));
        var resolver = new StubResolver(new() { ["metadata.corp.test"] = ["169.254.10.10"] });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, name => name == "GCE_METADATA_HOST" ? "metadata.corp.test" : null);

        var check = Assert.Single(report.Checks, c => c.Id == "upstream.token_endpoint");
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Contains("169.254.10.10 (link-local)", check.Evidence, StringComparison.Ordinal);
        Assert.DoesNotContain("never leaves the host", check.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Offline_the_token_host_is_unknown_unless_it_is_a_literal_address()
    {
        var byName = EgressEvaluator.Evaluate(Level2(Vertex(ServiceAccount("https://oauth2.psc.corp.test/token"))), _ => null);
        var literal = EgressEvaluator.Evaluate(Level2(Vertex(ServiceAccount("https://10.20.0.9/token"))), _ => null);

        Assert.Equal(CheckStatus.Unknown, Assert.Single(byName.Checks, c => c.Id == "upstream.token_endpoint").Status);
        var check = Assert.Single(literal.Checks, c => c.Id == "upstream.token_endpoint");
        Assert.Equal(CheckStatus.Pass, check.Status);
        Assert.Contains("10.20.0.9 (private RFC 1918)", check.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_1_does_not_require_a_private_token_endpoint()
    {
        var config = Level2(Vertex(null)) with { Level = 1 };

        var report = EgressEvaluator.Evaluate(config, _ => null);

        Assert.DoesNotContain(report.Checks, c => c.Id == "upstream.token_endpoint");
    }
}
