using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;

namespace Airlock.Protocols.Aws.Signing;

/// <summary>
/// The wire protocols of the AWS credential sources, each one request (or a short fixed sequence) on an
/// <see cref="HttpMessageInvoker"/> the caller supplies: the gateway supplies one whose connect callback enforces the
/// data-egress level, so these fetches obey it like an upstream call. Nothing here follows a redirect (a 3xx answer is
/// a failure), and no exception message quotes a key, a token or an answer body.
/// </summary>
/// <remarks>
/// Protocol facts: STS <c>AssumeRoleWithWebIdentity</c> (Query API, version 2011-06-15, unsigned) from the STS API
/// reference; IMDSv2 (<c>PUT /latest/api/token</c> with <c>X-aws-ec2-metadata-token-ttl-seconds</c>, then GETs with
/// <c>X-aws-ec2-metadata-token</c>) from the EC2 user guide; container credentials (GET with an optional
/// <c>Authorization</c> header) from the ECS and EKS Pod Identity guides; SSO <c>GetRoleCredentials</c>
/// (<c>GET /federation/credentials</c>, <c>x-amz-sso_bearer_token</c>) and SSO OIDC <c>CreateToken</c>
/// (<c>POST /token</c>, grant <c>refresh_token</c>) from the IAM Identity Center API references.
/// </remarks>
public static class AwsCredentialFetch
{
    private const string StsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

    /// <summary>STS <c>AssumeRoleWithWebIdentity</c>: the web identity token for the role's temporary credentials.</summary>
    public static async Task<AwsCredentials> AssumeRoleWithWebIdentityAsync(HttpMessageInvoker http, Uri sts, string roleArn, string sessionName, string webIdentityToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(sts);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(sts, "/"))
        {
            Content = new FormUrlEncodedContent(
            [
                new("Action", "AssumeRoleWithWebIdentity"),
                new("Version", "2011-06-15"),
                new("RoleArn", roleArn),
                new("RoleSessionName", sessionName),
                new("WebIdentityToken", webIdentityToken),
            ]),
        };
        var (status, body) = await SendAsync(http, request, "STS", ct).ConfigureAwait(false);
        XDocument document;
        try
        {
            document = XDocument.Parse(body);
        }
        catch (XmlException ex)
        {
            throw new AwsCredentialsUnavailableException($"STS at {Authority(sts)} answered {status} with a body that is not XML", ex);
        }
        XNamespace ns = StsNamespace;
        if (status != HttpStatusCode.OK)
        {
            // The error code (InvalidIdentityToken, AccessDenied, …) says what is wrong and quotes nothing secret.
            var code = document.Descendants(ns + "Code").FirstOrDefault()?.Value ?? document.Descendants("Code").FirstOrDefault()?.Value;
            throw new AwsCredentialsUnavailableException($"STS at {Authority(sts)} refused AssumeRoleWithWebIdentity for {roleArn} ({(int)status}{(code is null ? "" : " " + Printable(code))})");
        }
        var credentials = document.Descendants(ns + "Credentials").FirstOrDefault();
        string? Field(string name) => credentials?.Element(ns + name)?.Value;
        return Build(Field("AccessKeyId"), Field("SecretAccessKey"), Field("SessionToken"), Field("Expiration"), $"STS at {Authority(sts)}");
    }

    /// <summary>Container credentials (ECS task role, EKS Pod Identity): one GET, authorized when a token is given.</summary>
    public static async Task<AwsCredentials> ContainerAsync(HttpMessageInvoker http, Uri uri, string? authorization, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(uri);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (!string.IsNullOrEmpty(authorization))
        {
            if (authorization.AsSpan().ContainsAny('\r', '\n'))
            {
                throw new AwsCredentialsUnavailableException("the container authorization token holds a line break");
            }
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        var (status, body) = await SendAsync(http, request, "container credentials", ct).ConfigureAwait(false);
        return status == HttpStatusCode.OK
            ? FromJson(body, $"container credentials at {Authority(uri)}")
            : throw new AwsCredentialsUnavailableException($"container credentials at {Authority(uri)} answered {(int)status}");
    }

    /// <summary>EC2 instance metadata, IMDSv2 only: a session token, the role name, then the role's credentials.</summary>
    public static async Task<AwsCredentials> InstanceMetadataAsync(HttpMessageInvoker http, Uri endpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        var where = $"instance metadata at {Authority(endpoint)}";
        string token;
        using (var put = new HttpRequestMessage(HttpMethod.Put, new Uri(endpoint, "/latest/api/token")))
        {
            put.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token-ttl-seconds", "21600");
            var (status, body) = await SendAsync(http, put, "instance metadata", ct).ConfigureAwait(false);
            token = status == HttpStatusCode.OK && body.Length > 0 && !body.AsSpan().ContainsAny('\r', '\n')
                ? body
                : throw new AwsCredentialsUnavailableException($"{where} gave no IMDSv2 session token ({(int)status})");
        }
        async Task<string> GetAsync(string path)
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, path));
            get.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token", token);
            var (status, body) = await SendAsync(http, get, "instance metadata", ct).ConfigureAwait(false);
            return status == HttpStatusCode.OK ? body : throw new AwsCredentialsUnavailableException($"{where} answered {(int)status} for {path}");
        }
        var roles = await GetAsync("/latest/meta-data/iam/security-credentials/").ConfigureAwait(false);
        var role = roles.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (role is null || role.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '+' or '=' or ',' or '.' or '@' or '_' or '-')))
        {
            throw new AwsCredentialsUnavailableException($"{where} names no instance role (is an instance profile attached?)");
        }
        return FromJson(await GetAsync("/latest/meta-data/iam/security-credentials/" + role).ConfigureAwait(false), where);
    }

    /// <summary>SSO <c>GetRoleCredentials</c> with an access token from <c>aws sso login</c>.</summary>
    public static async Task<AwsCredentials> SsoRoleCredentialsAsync(HttpMessageInvoker http, Uri portal, string accessToken, string accountId, string roleName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(portal);
        var query = $"/federation/credentials?account_id={Uri.EscapeDataString(accountId)}&role_name={Uri.EscapeDataString(roleName)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(portal, query));
        request.Headers.TryAddWithoutValidation("x-amz-sso_bearer_token", accessToken);
        var (status, body) = await SendAsync(http, request, "SSO portal", ct).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            throw new AwsCredentialsUnavailableException(status == HttpStatusCode.Unauthorized
                ? $"the SSO portal at {Authority(portal)} refused the cached SSO token (401): run 'aws sso login' for the gateway's profile"
                : $"the SSO portal at {Authority(portal)} answered {(int)status}");
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var role = document.RootElement.GetProperty("roleCredentials");
            string? Text(string name) => role.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var expiration = role.TryGetProperty("expiration", out var ms) && ms.ValueKind == JsonValueKind.Number && ms.TryGetInt64(out var millis)
                ? DateTimeOffset.FromUnixTimeMilliseconds(millis)
                : (DateTimeOffset?)null;
            return Build(Text("accessKeyId"), Text("secretAccessKey"), Text("sessionToken"), expiration, $"the SSO portal at {Authority(portal)}");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            throw new AwsCredentialsUnavailableException($"the SSO portal at {Authority(portal)} answered without role credentials", ex);
        }
    }

    /// <summary>A refreshed SSO access token: SSO OIDC <c>CreateToken</c> with the cached client registration and refresh token.</summary>
    public static async Task<SsoToken> RefreshSsoTokenAsync(HttpMessageInvoker http, Uri oidc, string clientId, string clientSecret, string refreshToken, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(oidc);
        ArgumentNullException.ThrowIfNull(time);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(oidc, "/token"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["clientId"] = clientId,
                ["clientSecret"] = clientSecret,
                ["grantType"] = "refresh_token",
                ["refreshToken"] = refreshToken,
            }), Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        var (status, body) = await SendAsync(http, request, "SSO OIDC", ct).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            throw new AwsCredentialsUnavailableException($"SSO OIDC at {Authority(oidc)} refused the token refresh ({(int)status}): run 'aws sso login' for the gateway's profile");
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var accessToken = root.GetProperty("accessToken").GetString();
            var expiresIn = root.TryGetProperty("expiresIn", out var seconds) && seconds.ValueKind == JsonValueKind.Number && seconds.TryGetInt32(out var s) ? s : 0;
            var nextRefresh = root.TryGetProperty("refreshToken", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : refreshToken;
            return string.IsNullOrEmpty(accessToken) || expiresIn <= 0
                ? throw new AwsCredentialsUnavailableException($"SSO OIDC at {Authority(oidc)} answered without an access token")
                : new SsoToken(accessToken, time.GetUtcNow().AddSeconds(expiresIn), nextRefresh);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AwsCredentialsUnavailableException($"SSO OIDC at {Authority(oidc)} answered without an access token", ex);
        }
    }

    /// <summary>
    /// Sends and reads the (small) answer. A redirect is never followed: the handler does not follow it, and here it is
    /// a failure naming the status, so a credential fetch cannot be led to another host.
    /// </summary>
    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMessageInvoker http, HttpRequestMessage request, string what, CancellationToken ct)
    {
        var where = $"{what} at {Authority(request.RequestUri!)}";
        try
        {
            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                throw new AwsCredentialsUnavailableException($"{where} answered with a redirect ({status}); credential fetches never follow redirects");
            }
            if (response.Content.Headers.ContentLength > MaxAnswerBytes)
            {
                throw new AwsCredentialsUnavailableException($"{where} answered with more than {MaxAnswerBytes} bytes");
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            return bytes.Length > MaxAnswerBytes
                ? throw new AwsCredentialsUnavailableException($"{where} answered with more than {MaxAnswerBytes} bytes")
                : (response.StatusCode, Encoding.UTF8.GetString(bytes).Trim());
        }
        catch (HttpRequestException ex)
        {
            // The inner exception is kept: the gateway looks for its connect guard's refusal there.
            throw new AwsCredentialsUnavailableException($"{where} is unreachable ({ex.HttpRequestError})", ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new AwsCredentialsUnavailableException($"{where} did not answer in time", ex);
        }
    }

    /// <summary>Credential answers are a few hundred bytes; anything far larger is not one.</summary>
    private const int MaxAnswerBytes = 64 * 1024;

    /// <summary>The JSON both the container endpoint and instance metadata answer with.</summary>
    private static AwsCredentials FromJson(string body, string where)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            string? Text(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (Text("Code") is { } code && code != "Success")
            {
                throw new AwsCredentialsUnavailableException($"{where} answered Code {Printable(code)}");
            }
            return Build(Text("AccessKeyId"), Text("SecretAccessKey"), Text("Token"), Text("Expiration"), where);
        }
        catch (JsonException ex)
        {
            throw new AwsCredentialsUnavailableException($"{where} answered with a body that is not JSON", ex);
        }
    }

    private static AwsCredentials Build(string? accessKeyId, string? secretAccessKey, string? sessionToken, string? expiration, string where)
    {
        DateTimeOffset? expires = null;
        if (expiration is not null)
        {
            expires = DateTimeOffset.TryParse(expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
                ? parsed
                : throw new AwsCredentialsUnavailableException($"{where} answered with an unreadable expiration");
        }
        return Build(accessKeyId, secretAccessKey, sessionToken, expires, where);
    }

    private static AwsCredentials Build(string? accessKeyId, string? secretAccessKey, string? sessionToken, DateTimeOffset? expiration, string where) =>
        string.IsNullOrEmpty(accessKeyId) || string.IsNullOrEmpty(secretAccessKey)
            ? throw new AwsCredentialsUnavailableException($"{where} answered without an access key pair")
            : new AwsCredentials(accessKeyId, secretAccessKey, sessionToken, expiration);

    private static string Authority(Uri uri) => uri.GetLeftPart(UriPartial.Authority);

    /// <summary>An error code as it may be quoted: short, letters, digits and a few marks.</summary>
    private static string Printable(string code) =>
        code.Length <= 64 && code.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') ? code : "(unprintable code)";
}

/// <summary>An SSO access token and when it expires, with the refresh token to renew it (null when there is none).</summary>
public sealed class SsoToken(string accessToken, DateTimeOffset expiresAt, string? refreshToken)
{
    /// <summary>The access token. Never log it.</summary>
    public string AccessToken { get; } = accessToken;

    /// <summary>When the access token expires.</summary>
    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>The refresh token, or null. Never log it.</summary>
    public string? RefreshToken { get; } = refreshToken;

    /// <inheritdoc/>
    public override string ToString() => $"SsoToken(expires {ExpiresAt:O})";
}
