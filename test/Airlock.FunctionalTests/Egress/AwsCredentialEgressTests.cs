using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.FunctionalTests.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Gateway.Upstreams;
using Airlock.Protocols.Aws.Signing;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// AWS credential fetches at level 2: Airlock fetches them itself through a connect guard that allows only the
/// source's endpoint under the level's rule (instance and container metadata: the well-known metadata addresses and
/// loopback). Every endpoint is a loopback server the test scripts the way AWS answers, reached through a host name
/// the test's resolver answers for; a "public" answer is refused before any socket is opened.
/// </summary>
public sealed class AwsCredentialEgressTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string AccessKeyId = "ASIAGUARDTESTEXAMPLE";
    private const string SecretAccessKey = "guardSecret/Key+EXAMPLE0123456789abcdefgh";
    private const string SessionToken = "IQoJb3JpZ2luX2VjEGuardSessionTokenEXAMPLE0123456789";
    private const string RoleArn = "arn:aws:iam::123456789012:role/airlock-gateway";
    private const string WebIdentityToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YWlybG9jazpndWFyZCJ9.c2ln";
    private const string StsHost = "sts.corp.test";
    private const string BedrockHost = "bedrock.corp.test";

    private readonly string _work = Path.Combine(Path.GetTempPath(), "airlock-awsguard-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _stsCalls = [];
    private ProbeUpstream? _sts;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        await File.WriteAllTextAsync(Path.Combine(_work, "token"), WebIdentityToken);
        _sts = await ProbeUpstream.StartAsync(AnswerAsStsAsync);
    }

    public async Task DisposeAsync()
    {
        if (_sts is not null)
        {
            await _sts.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private ProbeUpstream Sts => _sts!;

    private static DateTimeOffset Expires { get; } = DateTimeOffset.UtcNow.AddHours(1);

    private static AwsCredentials Issued => new(AccessKeyId, SecretAccessKey, SessionToken, Expires);

    private Task AnswerAsStsAsync(HttpContext context) => ScriptedSts.AnswerAsync(context, RoleArn, WebIdentityToken, Issued, _stsCalls);

    /// <summary>The gateway's environment: web identity with STS at <paramref name="sts"/>, and no static keys.</summary>
    private Func<string, string?> WebIdentityEnvironment(Uri sts) => name => name switch
    {
        // Empty, not null: the harness would otherwise supply its static test keys, which come first in the chain.
        "AWS_ACCESS_KEY_ID" or "AWS_SECRET_ACCESS_KEY" => "",
        "AWS_WEB_IDENTITY_TOKEN_FILE" => Path.Combine(_work, "token"),
        "AWS_ROLE_ARN" => RoleArn,
        "AWS_ROLE_SESSION_NAME" => "airlock-guard-test",
        "AWS_ENDPOINT_URL_STS" => sts.ToString(),
        _ => null,
    };

    private Uri StsByName => new($"http://{StsHost}:{Sts.BaseUri.Port}");

    /// <summary>Level 2 (loopback accepted for the test), the scripted Bedrock reached by name over https.</summary>
    private static AirlockConfig Level2(AirlockConfig c) => c with
    {
        Level = 2,
        Egress = new EgressConfig { AllowLoopback = true },
        Upstreams = [c.Upstreams[0] with { Url = new Uri($"https://{BedrockHost}:{c.Upstreams[0].Url!.Port}") }],
    };

    [Fact]
    public async Task An_sts_endpoint_that_turns_public_is_refused_at_connect_time_with_a_door_shaped_error_and_audited()
    {
        var resolver = new SwitchableResolver().Set(BedrockHost, "127.0.0.1").Set(StsHost, "127.0.0.1");
        await using var harness = await GatewayHarness.StartAsync(output, Level2, upstreamKind: UpstreamKind.Bedrock,
            environment: WebIdentityEnvironment(StsByName), hostResolver: resolver);
        // After startup the STS name changes (or is rebound) to a public address.
        resolver.Set(StsHost, "52.94.1.1");

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("AWS credential endpoint", message, StringComparison.Ordinal);
        Assert.Contains("52.94.1.1 (public)", message, StringComparison.Ordinal);
        Assert.DoesNotContain(WebIdentityToken, message, StringComparison.Ordinal);
        Assert.Empty(_stsCalls);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        Assert.Contains(StsHost, resolver.Asked);
        ErrorAssert.IsEgressRefusal(await harness.SingleAuditAsync());
    }

    [Fact]
    public async Task Level_2_startup_refuses_an_sts_endpoint_that_resolves_public()
    {
        var resolver = new SwitchableResolver().Set(BedrockHost, "127.0.0.1").Set(StsHost, "10.0.9.20", "52.94.1.1");

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => GatewayHarness.StartAsync(output, Level2, upstreamKind: UpstreamKind.Bedrock,
            environment: WebIdentityEnvironment(StsByName), hostResolver: resolver));

        var violation = Assert.Single(ex.Errors);
        Assert.StartsWith($"upstreams[0] (main): STS endpoint http://{StsHost}:", violation, StringComparison.Ordinal);
        Assert.Contains("52.94.1.1 (public)", violation, StringComparison.Ordinal);
        Assert.Contains("VPC endpoint", violation, StringComparison.Ordinal);
        Assert.Empty(_stsCalls);
    }

    /// <summary>A level-2 deployment with Bedrock (the given source) and the provider built for it, as the gateway builds it.</summary>
    private static (AirlockConfig Config, GuardedAwsCredentialProvider Provider) Provider(Func<string, string?> environment, IHostResolver resolver, bool allowLoopback = true)
    {
        var bedrock = new UpstreamConfig { Name = "bedrock", Kind = UpstreamKind.Bedrock, Region = ScriptedUpstream.BedrockRegion, Url = new Uri("https://10.0.7.12") };
        var config = new AirlockConfig
        {
            Level = 2,
            DataDir = Path.GetTempPath(),
            Egress = new EgressConfig { AllowLoopback = allowLoopback },
            Upstreams = [bedrock],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "bedrock" }],
        };
        return (config, new GuardedAwsCredentialProvider(config, bedrock, AwsCredentialSource.For(bedrock, environment), resolver, TimeProvider.System));
    }

    [Fact]
    public async Task The_credential_fetch_never_follows_a_redirect()
    {
        var elsewhere = 0;
        await using var target = await ProbeUpstream.StartAsync(context => { Interlocked.Increment(ref elsewhere); return Task.CompletedTask; });
        await using var redirecting = await ProbeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = new Uri(target.BaseUri, "/").ToString();
            return Task.CompletedTask;
        });
        var resolver = new SwitchableResolver().Set(StsHost, "127.0.0.1");
        var (_, provider) = Provider(WebIdentityEnvironment(new Uri($"http://{StsHost}:{redirecting.BaseUri.Port}")), resolver);

        var ex = await Assert.ThrowsAsync<AwsCredentialsUnavailableException>(() => provider.GetCredentialsAsync(CancellationToken.None).AsTask());

        Assert.Contains("answered with a redirect (307); credential fetches never follow redirects", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, elsewhere);
        Assert.Equal([StsHost], resolver.Asked);
    }

    [Fact]
    public async Task Instance_metadata_on_the_host_is_fetched_at_level_2_and_another_link_local_address_is_refused()
    {
        const string MetadataToken = "AQAEAGuardImdsTokenEXAMPLE==";
        var asked = new List<string>();
        await using var imds = await ProbeUpstream.StartAsync(async context =>
        {
            var request = context.Request;
            lock (asked)
            {
                asked.Add($"{request.Method} {request.Path}");
            }
            if (HttpMethods.IsPut(request.Method) && request.Path == "/latest/api/token" && request.Headers.ContainsKey("X-aws-ec2-metadata-token-ttl-seconds"))
            {
                await context.Response.WriteAsync(MetadataToken);
                return;
            }
            if (request.Headers["X-aws-ec2-metadata-token"] != MetadataToken)
            {
                context.Response.StatusCode = 401;
                return;
            }
            if (request.Path == "/latest/meta-data/iam/security-credentials/")
            {
                await context.Response.WriteAsync("airlock-gateway");
                return;
            }
            if (request.Path == "/latest/meta-data/iam/security-credentials/airlock-gateway")
            {
                await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["Code"] = "Success",
                    ["AccessKeyId"] = AccessKeyId,
                    ["SecretAccessKey"] = SecretAccessKey,
                    ["Token"] = SessionToken,
                    ["Expiration"] = Expires.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                }));
                return;
            }
            context.Response.StatusCode = 404;
        });
        Func<string, string?> environment = name => name == "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? $"http://imds.corp.test:{imds.BaseUri.Port}" : null;
        // Loopback is not allowed for upstreams here: the metadata rule allows the host's own link for this fetch only.
        var (_, onHost) = Provider(environment, new SwitchableResolver().Set("imds.corp.test", "127.0.0.1"), allowLoopback: false);
        var (_, offHost) = Provider(environment, new SwitchableResolver().Set("imds.corp.test", "169.254.10.10"), allowLoopback: false);

        var credentials = await onHost.GetCredentialsAsync(CancellationToken.None);
        var refused = await Assert.ThrowsAsync<EgressRefusedException>(() => offHost.GetCredentialsAsync(CancellationToken.None).AsTask());

        Assert.Equal(AccessKeyId, credentials.AccessKeyId);
        Assert.Equal(SessionToken, credentials.SessionToken);
        Assert.Equal(["PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/", "GET /latest/meta-data/iam/security-credentials/airlock-gateway"], asked);
        Assert.Contains("169.254.10.10 (link-local)", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(3, asked.Count);
    }

    [Fact]
    public async Task Container_credentials_at_a_full_uri_that_resolves_public_are_refused()
    {
        var resolver = new SwitchableResolver().Set("creds.corp.test", "52.94.1.1");
        var (_, provider) = Provider(name => name switch
        {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI" => "http://creds.corp.test:8080/v2/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN" => "container-authorization-EXAMPLE",
            _ => null,
        }, resolver);

        var refused = await Assert.ThrowsAsync<EgressRefusedException>(() => provider.GetCredentialsAsync(CancellationToken.None).AsTask());

        Assert.Contains("creds.corp.test resolves to 52.94.1.1 (public)", refused.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("container-authorization-EXAMPLE", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_sso_token_is_refreshed_at_the_oidc_endpoint_then_the_portal_hands_out_role_credentials()
    {
        var asked = new List<string>();
        await using var aws = await ProbeUpstream.StartAsync(async context =>
        {
            var request = context.Request;
            lock (asked)
            {
                asked.Add($"{request.Method} {request.Path}");
            }
            if (HttpMethods.IsPost(request.Method) && request.Path == "/token")
            {
                using var body = await JsonDocument.ParseAsync(request.Body);
                var root = body.RootElement;
                var valid = root.GetProperty("grantType").GetString() == "refresh_token" && root.GetProperty("refreshToken").GetString() == "refresh-EXAMPLE"
                    && root.GetProperty("clientId").GetString() == "client-EXAMPLE" && root.GetProperty("clientSecret").GetString() == "client-secret-EXAMPLE";
                context.Response.StatusCode = valid ? 200 : 400;
                await context.Response.WriteAsync(valid ? """{"accessToken":"fresh-access-EXAMPLE","expiresIn":28800,"tokenType":"Bearer"}""" : """{"error":"invalid_grant"}""");
                return;
            }
            if (request.Path == "/federation/credentials" && request.Headers["x-amz-sso_bearer_token"] == "fresh-access-EXAMPLE"
                && request.Query["account_id"] == "123456789012" && request.Query["role_name"] == "airlock-gateway")
            {
                await context.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    roleCredentials = new { accessKeyId = AccessKeyId, secretAccessKey = SecretAccessKey, sessionToken = SessionToken, expiration = Expires.ToUnixTimeMilliseconds() },
                }));
                return;
            }
            context.Response.StatusCode = 401;
        });
        var config = Path.Combine(_work, "aws-config");
        await File.WriteAllTextAsync(config, """
            [profile gateway]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = airlock-gateway

            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-1
            """);
        var cache = Path.Combine(_work, ".aws", "sso", "cache");
        Directory.CreateDirectory(cache);
        var name = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("corp")));
        await File.WriteAllTextAsync(Path.Combine(cache, name + ".json"), JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["accessToken"] = "stale-access-EXAMPLE",
            ["expiresAt"] = DateTimeOffset.UtcNow.AddHours(-1).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["refreshToken"] = "refresh-EXAMPLE",
            ["clientId"] = "client-EXAMPLE",
            ["clientSecret"] = "client-secret-EXAMPLE",
        }));
        var endpoint = $"http://sso.corp.test:{aws.BaseUri.Port}";
        var (_, provider) = Provider(variable => variable switch
        {
            "HOME" => _work,
            "AWS_PROFILE" => "gateway",
            "AWS_CONFIG_FILE" => config,
            "AWS_ENDPOINT_URL_SSO" or "AWS_ENDPOINT_URL_SSO_OIDC" => endpoint,
            _ => null,
        }, new SwitchableResolver().Set("sso.corp.test", "127.0.0.1"));
        var (_, refused) = Provider(variable => variable switch
        {
            "HOME" => _work,
            "AWS_PROFILE" => "gateway",
            "AWS_CONFIG_FILE" => config,
            "AWS_ENDPOINT_URL_SSO" or "AWS_ENDPOINT_URL_SSO_OIDC" => endpoint,
            _ => null,
        }, new SwitchableResolver().Set("sso.corp.test", "54.1.2.3"));

        var credentials = await provider.GetCredentialsAsync(CancellationToken.None);
        var refusal = await Assert.ThrowsAsync<EgressRefusedException>(() => refused.GetCredentialsAsync(CancellationToken.None).AsTask());

        Assert.Equal(SessionToken, credentials.SessionToken);
        Assert.Equal(["POST /token", "GET /federation/credentials"], asked);
        Assert.Contains("54.1.2.3 (public)", refusal.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("refresh-EXAMPLE", refusal.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The whole path in a real <c>airlock serve</c> at level 2: web identity from a private STS (loopback, allowed for
    /// the test), then a Bedrock call over TLS, whose signature the scripted Bedrock verifies with the session token.
    /// The scripted Bedrock presents a certificate the test made; the gateway trusts it through <c>SSL_CERT_FILE</c>,
    /// the same way a deployment trusts its private CA.
    /// </summary>
    [Fact]
    public async Task A_private_sts_endpoint_serves_web_identity_credentials_that_sign_the_bedrock_call_at_level_2()
    {
        using var certificate = LoopbackCertificate();
        var trust = Path.Combine(_work, "trust.pem");
        await File.WriteAllTextAsync(trust, certificate.ExportCertificatePem());
        var bedrock = new ScriptedBedrock(new BedrockSigV4Verifier(ScriptedUpstream.BedrockRegion, null, Issued));
        await using var tls = await LoopbackServer.StartTlsAsync(bedrock.HandleAsync, certificate);
        await File.WriteAllTextAsync(Path.Combine(_work, "airlock.yaml"), $"""
            level: 2
            egress:
              allow_loopback: true
            upstreams:
              - name: bedrock
                kind: bedrock
                region: {ScriptedUpstream.BedrockRegion}
                url: https://127.0.0.1:{tls.Port}
            routes:
              - models: "*"
                upstream: bedrock
            """);
        var key = JsonDocument.Parse(await BuiltCli.RunAsync(_work, "keys", "create", "--user", "ada", "--json")).RootElement.GetProperty("key").GetString()!;
        var port = BuiltCli.FreePort();
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = _work, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { BuiltCli.Path, "serve", "--urls", $"http://127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var variable in info.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(variable);
        }
        info.Environment["HOME"] = _work;
        info.Environment["SSL_CERT_FILE"] = trust;
        info.Environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = Path.Combine(_work, "token");
        info.Environment["AWS_ROLE_ARN"] = RoleArn;
        info.Environment["AWS_ROLE_SESSION_NAME"] = "airlock-guard-test";
        info.Environment["AWS_ENDPOINT_URL_STS"] = Sts.BaseUri.ToString();
        var log = new StringBuilder();
        using var gateway = Process.Start(info)!;
        gateway.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        gateway.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        gateway.BeginOutputReadLine();
        gateway.BeginErrorReadLine();
        HttpStatusCode status;
        string body;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(120) };
            await BuiltCli.WaitHealthyAsync(http, gateway);
            using var request = BuiltCli.MessagesRequest(key, "hello");
            using var response = await http.SendAsync(request);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync();
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
        }
        string gatewayOutput;
        lock (log)
        {
            gatewayOutput = log.ToString();
        }
        output.WriteLine(gatewayOutput);
        output.WriteLine(body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"POST / AssumeRoleWithWebIdentity {RoleArn} airlock-guard-test", _stsCalls);
        Assert.Empty(bedrock.Failures);
        var call = Assert.Single(bedrock.Calls);
        Assert.Equal(SessionToken, call.Request.Header("x-amz-security-token"));
        Assert.Contains("Credential=" + AccessKeyId + "/", call.Request.Header("authorization"), StringComparison.Ordinal);
        foreach (var secret in new[] { SecretAccessKey, SessionToken, WebIdentityToken })
        {
            Assert.DoesNotContain(secret, gatewayOutput + body, StringComparison.Ordinal);
        }
    }

    /// <summary>A self-signed server certificate for 127.0.0.1 (one day), with its private key usable by Kestrel.</summary>
    private static X509Certificate2 LoopbackCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=airlock-test-bedrock", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
