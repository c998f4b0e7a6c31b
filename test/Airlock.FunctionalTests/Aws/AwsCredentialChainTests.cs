using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Airlock.FunctionalTests.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Protocols.Aws.Signing;
using Airlock.Testing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests.Aws;

/// <summary>
/// The standard AWS credential chain (AWSSDK.Core) behind a Bedrock upstream, one source at a time, each against a
/// loopback endpoint the test scripts the way AWS serves it: ECS/EKS container credentials (full URI plus authorization
/// token), EC2 instance metadata v2 (token PUT, then the role's credentials), web identity (STS
/// <c>AssumeRoleWithWebIdentity</c>, through AWSSDK.SecurityToken) and an SSO profile (the cached <c>aws sso login</c>
/// token, then the portal's <c>GetRoleCredentials</c>, through AWSSDK.SSO). Each runs in a real <c>airlock serve</c> process whose
/// environment holds only that source, so the chain is the SDK's own and nothing leaks between tests. The scripted
/// Bedrock verifies the SigV4 signature with the credentials the source handed out, session token included; no key
/// may appear in the gateway's output.
/// </summary>
public sealed class AwsCredentialChainTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string AccessKeyId = "ASIACHAINTESTEXAMPLE";
    private const string SecretAccessKey = "chainSecret/Key+EXAMPLE0123456789abcdefgh";
    private const string SessionToken = "IQoJb3JpZ2luX2VjEChainSessionTokenEXAMPLE0123456789";
    private const string RoleName = "airlock-gateway";
    private const string RoleArn = "arn:aws:iam::123456789012:role/airlock-gateway";

    private readonly string _work = Path.Combine(Path.GetTempPath(), "airlock-awschain-" + Guid.NewGuid().ToString("N"));

    private ScriptedBedrock? _bedrock;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_bedrock is not null)
        {
            await _bedrock.DisposeAsync();
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

    private static AwsCredentials Issued(DateTimeOffset expires) => new(AccessKeyId, SecretAccessKey, SessionToken, expires);

    /// <summary>The JSON both the container endpoint and instance metadata answer with.</summary>
    private static string CredentialsJson(DateTimeOffset expires) => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["Code"] = "Success",
        ["LastUpdated"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["Type"] = "AWS-HMAC",
        ["AccessKeyId"] = AccessKeyId,
        ["SecretAccessKey"] = SecretAccessKey,
        ["Token"] = SessionToken,
        ["Expiration"] = expires.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["RoleArn"] = RoleArn,
    });

    [Fact]
    public async Task Container_credentials_with_an_authorization_token_sign_the_bedrock_call()
    {
        const string Authorization = "container-authorization-token-EXAMPLE";
        var expires = DateTimeOffset.UtcNow.AddHours(6);
        var asked = new List<string>();
        await using var container = await ProbeUpstream.StartAsync(async context =>
        {
            lock (asked)
            {
                asked.Add($"{context.Request.Method} {context.Request.Path} auth={context.Request.Headers.Authorization}");
            }
            if (context.Request.Path != "/v2/credentials/airlock" || context.Request.Headers.Authorization != Authorization)
            {
                context.Response.StatusCode = 401;
                return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(CredentialsJson(expires));
        });

        var (response, gateway, bedrock) = await CallThroughGatewayAsync(Issued(expires), new()
        {
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = new Uri(container.BaseUri, "/v2/credentials/airlock").ToString(),
            ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = Authorization,
        });

        output.WriteLine(string.Join("\n", asked));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        AssertSignedWithSessionToken(bedrock);
        AssertNoSecretIn(gateway);
        Assert.DoesNotContain(Authorization, gateway, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Instance_metadata_v2_credentials_sign_the_bedrock_call()
    {
        const string MetadataToken = "AQAEAImdsV2SessionTokenEXAMPLE==";
        var expires = DateTimeOffset.UtcNow.AddHours(6);
        var asked = new List<string>();
        await using var imds = await ProbeUpstream.StartAsync(async context =>
        {
            var request = context.Request;
            lock (asked)
            {
                asked.Add($"{request.Method} {request.Path}");
            }
            // IMDSv2: a session token from PUT /latest/api/token (TTL header required), then every GET presents it.
            if (HttpMethods.IsPut(request.Method) && request.Path == "/latest/api/token")
            {
                if (!request.Headers.ContainsKey("X-aws-ec2-metadata-token-ttl-seconds"))
                {
                    context.Response.StatusCode = 400;
                    return;
                }
                await context.Response.WriteAsync(MetadataToken);
                return;
            }
            if (request.Headers["X-aws-ec2-metadata-token"] != MetadataToken)
            {
                context.Response.StatusCode = 401;
                return;
            }
            var path = request.Path.Value ?? "";
            if (path is "/latest/meta-data/iam/security-credentials/" or "/latest/meta-data/iam/security-credentials")
            {
                await context.Response.WriteAsync(RoleName);
            }
            else if (path == "/latest/meta-data/iam/security-credentials/" + RoleName)
            {
                await context.Response.WriteAsync(CredentialsJson(expires));
            }
            else if (path == "/latest/meta-data/iam/info")
            {
                await context.Response.WriteAsync("""{"Code":"Success","InstanceProfileArn":"arn:aws:iam::123456789012:instance-profile/airlock-gateway","InstanceProfileId":"AIPAEXAMPLE"}""");
            }
            else
            {
                context.Response.StatusCode = 404;
            }
        });

        var (response, gateway, bedrock) = await CallThroughGatewayAsync(Issued(expires), new()
        {
            ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.BaseUri.ToString().TrimEnd('/'),
            ["AWS_EC2_METADATA_DISABLED"] = "false",
        });

        output.WriteLine(string.Join("\n", asked));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains("PUT /latest/api/token", asked);
        AssertSignedWithSessionToken(bedrock);
        AssertNoSecretIn(gateway);
        Assert.DoesNotContain(MetadataToken, gateway, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_identity_credentials_from_sts_sign_the_bedrock_call()
    {
        const string WebIdentityToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YWlybG9jazpnYXRld2F5In0.c2lnbmF0dXJl";
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        var asked = new List<string>();
        await using var sts = await ProbeUpstream.StartAsync(context => ScriptedSts.AnswerAsync(context, RoleArn, WebIdentityToken, Issued(expires), asked));
        Directory.CreateDirectory(_work);
        var tokenFile = Path.Combine(_work, "web-identity-token");
        await File.WriteAllTextAsync(tokenFile, WebIdentityToken);

        var (response, gateway, bedrock) = await CallThroughGatewayAsync(Issued(expires), new()
        {
            ["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenFile,
            ["AWS_ROLE_ARN"] = RoleArn,
            ["AWS_ROLE_SESSION_NAME"] = "airlock-chain-test",
            ["AWS_REGION"] = "us-east-1",
            // The SDK's service-specific endpoint override: STS on loopback instead of sts.us-east-1.amazonaws.com.
            ["AWS_ENDPOINT_URL_STS"] = sts.BaseUri.ToString(),
        });

        output.WriteLine(string.Join("\n", asked));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains(asked, a => a.Contains("AssumeRoleWithWebIdentity " + RoleArn + " airlock-chain-test", StringComparison.Ordinal));
        AssertSignedWithSessionToken(bedrock);
        AssertNoSecretIn(gateway);
        Assert.DoesNotContain(WebIdentityToken, gateway, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sso_profile_credentials_from_the_portal_sign_the_bedrock_call()
    {
        const string SsoAccessToken = "aoaAAAAAGSsoAccessTokenEXAMPLE0123456789";
        var expires = DateTimeOffset.UtcNow.AddHours(8);
        var asked = new List<string>();
        await using var portal = await ProbeUpstream.StartAsync(async context =>
        {
            var request = context.Request;
            lock (asked)
            {
                asked.Add($"{request.Method} {request.Path}{request.QueryString}");
            }
            // SSO GetRoleCredentials: GET /federation/credentials?account_id=…&role_name=… with the cached access token.
            if (request.Path != "/federation/credentials" || request.Query["account_id"] != "123456789012" || request.Query["role_name"] != RoleName
                || request.Headers["x-amz-sso_bearer_token"] != SsoAccessToken)
            {
                context.Response.StatusCode = 401;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"message":"Session token not found or invalid"}""");
                return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                roleCredentials = new { accessKeyId = AccessKeyId, secretAccessKey = SecretAccessKey, sessionToken = SessionToken, expiration = expires.ToUnixTimeMilliseconds() },
            }));
        });
        Directory.CreateDirectory(_work);
        var config = Path.Combine(_work, "aws-config");
        await File.WriteAllTextAsync(config, $"""
            [profile airlock-sso]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = {RoleName}
            region = us-east-1

            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-1
            sso_registration_scopes = sso:account:access
            """);
        // The token 'aws sso login' caches: ~/.aws/sso/cache/<SHA-1 of the session name>.json.
        var cache = Path.Combine(_work, ".aws", "sso", "cache");
        Directory.CreateDirectory(cache);
        var name = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes("corp")));
        await File.WriteAllTextAsync(Path.Combine(cache, name + ".json"), JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["accessToken"] = SsoAccessToken,
            ["expiresAt"] = expires.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["region"] = "us-east-1",
            ["startUrl"] = "https://corp.awsapps.com/start",
        }));

        var (response, gateway, bedrock) = await CallThroughGatewayAsync(Issued(expires), new()
        {
            ["AWS_PROFILE"] = "airlock-sso",
            ["AWS_CONFIG_FILE"] = config,
            // The SDK's service-specific endpoint override: the SSO portal on loopback instead of portal.sso.us-east-1.amazonaws.com.
            ["AWS_ENDPOINT_URL_SSO"] = portal.BaseUri.ToString(),
        });

        output.WriteLine(string.Join("\n", asked));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        AssertSignedWithSessionToken(bedrock);
        AssertNoSecretIn(gateway);
        Assert.DoesNotContain(SsoAccessToken, gateway, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("messages")]
    [InlineData("bedrock")]
    public async Task Expired_container_credentials_are_a_door_shaped_502_with_an_audit_record(string door)
    {
        const string Authorization = "container-authorization-token-EXAMPLE";
        var expired = DateTimeOffset.UtcNow.AddHours(-1);
        await using var container = await ProbeUpstream.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(CredentialsJson(expired));
        });

        var (response, gateway, bedrock) = await CallThroughGatewayAsync(Issued(expired), new()
        {
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = new Uri(container.BaseUri, "/v2/credentials/airlock").ToString(),
            ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = Authorization,
        }, door == "bedrock" ? BedrockDoorRequest : null);

        output.WriteLine(response.Body);
        // Refused before any upstream call (and, on the Bedrock door, before any frame): the door's JSON error shape.
        Assert.Equal(HttpStatusCode.BadGateway, response.Status);
        using (var error = JsonDocument.Parse(response.Body))
        {
            string message;
            if (door == "bedrock")
            {
                Assert.Equal("InternalServerException", response.AwsErrorType);
                message = error.RootElement.GetProperty("message").GetString()!;
            }
            else
            {
                Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
                Assert.Equal("api_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
                message = error.RootElement.GetProperty("error").GetProperty("message").GetString()!;
                Assert.Contains("Credentials expiration = ", message, StringComparison.Ordinal);
            }
            Assert.Contains("the AWS credentials from the standard chain have expired (The retrieved credentials have already expired: Now = ", message, StringComparison.Ordinal);
        }
        Assert.Empty(bedrock.Calls);
        AssertNoSecretIn(gateway + response.Body);
        Assert.DoesNotContain(Authorization, gateway + response.Body, StringComparison.Ordinal);
        var audit = await BuiltCli.RunAsync(_work, "audit", "list", "--json");
        // The trail also holds the admin record of 'keys create'; the request's record is the one that failed.
        var records = JsonDocument.Parse(audit).RootElement.EnumerateArray().ToList();
        var record = Assert.Single(records, r => r.TryGetProperty("error_type", out var type) && type.ValueKind == JsonValueKind.String);
        Assert.Equal("upstream_credentials", record.GetProperty("error_type").GetString());
        Assert.Equal(door, record.GetProperty("door").GetString());
        if (door == "bedrock")
        {
            Assert.Equal("invoke_with_response_stream", record.GetProperty("operation").GetString());
        }
        Assert.Equal(502, record.GetProperty("status").GetInt32());
        AssertNoSecretIn(audit);
        Assert.DoesNotContain(Authorization, audit, StringComparison.Ordinal);
    }

    /// <summary>What Claude Code sends in Bedrock mode with CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 and the gateway key as its token.</summary>
    private static HttpRequestMessage BedrockDoorRequest(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/bedrock/model/us.anthropic.claude-opus-5-5-v1:0/invoke-with-response-stream")
        {
            Content = new StringContent("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
        return request;
    }

    private static void AssertSignedWithSessionToken(ScriptedBedrock bedrock)
    {
        Assert.Empty(bedrock.Failures);
        var call = Assert.Single(bedrock.Calls);
        Assert.Equal(SessionToken, call.Request.Header("x-amz-security-token"));
        Assert.Contains("Credential=" + AccessKeyId + "/", call.Request.Header("authorization"), StringComparison.Ordinal);
    }

    private static void AssertNoSecretIn(string text)
    {
        Assert.DoesNotContain(SecretAccessKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(SessionToken, text, StringComparison.Ordinal);
    }

    /// <summary>The gateway's answer: status, body, and the <c>x-amzn-ErrorType</c> header when the Bedrock door sent one.</summary>
    private sealed record GatewayAnswer(HttpStatusCode Status, string Body, string? AwsErrorType);

    /// <summary>
    /// Starts a scripted Bedrock verifying <paramref name="issued"/>, then <c>airlock serve</c> (a Bedrock upstream, level 1)
    /// with only <paramref name="source"/> as AWS configuration, sends one Messages request, and returns the answer, the
    /// gateway's whole output, and the scripted Bedrock. <paramref name="request"/> builds another request from the
    /// developer key (e.g. one through the Bedrock door).
    /// </summary>
    private async Task<(GatewayAnswer Answer, string Output, ScriptedBedrock Bedrock)> CallThroughGatewayAsync(AwsCredentials issued, Dictionary<string, string> source,
        Func<string, HttpRequestMessage>? request = null)
    {
        Directory.CreateDirectory(_work);
        var bedrock = _bedrock = await ScriptedBedrock.StartAsync(new ScriptedBedrock(new BedrockSigV4Verifier(ScriptedUpstream.BedrockRegion, null, issued)));
        {
            await File.WriteAllTextAsync(Path.Combine(_work, "airlock.yaml"), $"""
                level: 1
                upstreams:
                  - name: bedrock
                    kind: bedrock
                    region: {ScriptedUpstream.BedrockRegion}
                    url: {bedrock.BaseUrl}
                routes:
                  - models: "*"
                    upstream: bedrock
                """);
            var key = JsonDocument.Parse(await BuiltCli.RunAsync(_work, "keys", "create", "--user", "ada", "--json")).RootElement.GetProperty("key").GetString()!;
            var port = BuiltCli.FreePort();
            var log = new StringBuilder();
            using var gateway = Process.Start(ServeInfo(port, source))!;
            gateway.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            gateway.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            gateway.BeginOutputReadLine();
            gateway.BeginErrorReadLine();
            try
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(120) };
                await BuiltCli.WaitHealthyAsync(http, gateway);
                using var message = request?.Invoke(key) ?? BuiltCli.MessagesRequest(key, "hello");
                using var response = await http.SendAsync(message);
                var answer = new GatewayAnswer(response.StatusCode, await response.Content.ReadAsStringAsync(),
                    response.Headers.TryGetValues("x-amzn-ErrorType", out var errorType) ? errorType.Single() : null);
                return (answer, Drain(), bedrock);
            }
            finally
            {
                gateway.Kill(entireProcessTree: true);
                await gateway.WaitForExitAsync();
            }

            string Drain()
            {
                lock (log)
                {
                    output.WriteLine(log.ToString());
                    return log.ToString();
                }
            }
        }
    }

    /// <summary><c>airlock serve</c> with no AWS configuration but <paramref name="source"/>: no inherited keys, profiles or metadata.</summary>
    private ProcessStartInfo ServeInfo(int port, Dictionary<string, string> source)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = _work, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(BuiltCli.Path);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }
        info.Environment["HOME"] = _work;
        info.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_work, "no-aws-credentials");
        info.Environment["AWS_CONFIG_FILE"] = Path.Combine(_work, "no-aws-config");
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        foreach (var (name, value) in source)
        {
            info.Environment[name] = value;
        }
        return info;
    }
}
