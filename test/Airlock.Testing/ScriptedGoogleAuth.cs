using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Airlock.Testing;

/// <summary>
/// The Google side of Vertex authentication for the scripted upstream: a service account with a fresh RSA key
/// (written as a real service-account JSON file whose <c>token_uri</c> points at the scripted upstream), an OAuth
/// 2.0 token endpoint that verifies the JWT-bearer assertion the way Google's does (RS256 signature with the
/// account's public key, <c>iss</c>, <c>aud</c>, <c>scope</c>, <c>iat</c>/<c>exp</c>; RFC 7523 §3), and the bearer
/// check the Vertex endpoint applies to the tokens it issued.
/// </summary>
public sealed class ScriptedGoogleAuth : IDisposable
{
    /// <summary>The token endpoint path on the scripted upstream.</summary>
    public const string TokenPath = "/oauth2/token";

    public const string CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

    private readonly RSA _key = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _issued = new();
    private int _grants;

    public string ClientEmail { get; } = "airlock-gateway@test-project.iam.gserviceaccount.com";

    public string ProjectId { get; } = "test-project";

    /// <summary>Lifetime of issued access tokens.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>When true the token endpoint answers <c>invalid_grant</c> (a deleted or disabled key).</summary>
    public bool RefuseGrants { get; set; }

    /// <summary>
    /// When true the Vertex endpoint refuses every token, also ones granted afterwards (tokens revoked as soon as they are
    /// issued): the 401 a fresh token cannot cure.
    /// </summary>
    public bool RefuseAllTokens { get; set; }

    /// <summary>The claims of the last assertion that reached the claim checks (diagnostics).</summary>
    public string? LastClaims { get; private set; }

    /// <summary>How many tokens were granted.</summary>
    public int Grants => _grants;

    /// <summary>Every access token granted so far, oldest first (revoked and expired ones included).</summary>
    public IReadOnlyList<string> IssuedTokens => [.. _issued];

    /// <summary>When <paramref name="token"/> stops being accepted, or null if this endpoint never issued it (or revoked it).</summary>
    public DateTimeOffset? ExpiryOf(string token) => _tokens.TryGetValue(token, out var expires) ? expires : null;

    /// <summary>Revokes every token issued so far, as Google does when a key is disabled or a token is revoked: the Vertex endpoint answers 401 to them.</summary>
    public void RevokeAll() => _tokens.Clear();

    /// <summary>Writes a service-account JSON file for this account into <paramref name="directory"/> and returns its path.</summary>
    public string WriteServiceAccountFile(string directory, Uri upstreamBase)
    {
        ArgumentNullException.ThrowIfNull(upstreamBase);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "service-account.json");
        var json = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = ProjectId,
            ["private_key_id"] = "0123456789abcdef",
            ["private_key"] = _key.ExportPkcs8PrivateKeyPem() + "\n",
            ["client_email"] = ClientEmail,
            ["client_id"] = "100000000000000000001",
            ["auth_uri"] = "https://accounts.google.com/o/oauth2/auth",
            ["token_uri"] = new Uri(upstreamBase, TokenPath).ToString(),
        });
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>True when the request carries a bearer token this endpoint issued and that has not expired.</summary>
    public bool IsAuthorized(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = request.Headers.Authorization.ToString();
        return !RefuseAllTokens
            && header.StartsWith("Bearer ", StringComparison.Ordinal)
            && _tokens.TryGetValue(header[7..], out var expires)
            && expires > DateTimeOffset.UtcNow;
    }

    /// <summary>Answers a token request (<c>grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer</c>).</summary>
    public async Task HandleTokenAsync(HttpContext context, ReadOnlyMemory<byte> body, Uri tokenUri)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The scripted upstream has already read (and recorded) the body: parse the recorded bytes.
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Encoding.ASCII.GetString(body.Span));
        var problem = RefuseGrants
            ? "invalid_grant"
            : !form.TryGetValue("grant_type", out var grant) || grant.ToString() != "urn:ietf:params:oauth:grant-type:jwt-bearer"
                ? "unsupported_grant_type"
                : VerifyAssertion(form.TryGetValue("assertion", out var assertion) ? assertion.ToString() : "", tokenUri);
        context.Response.ContentType = "application/json; charset=utf-8";
        if (problem is not null)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = problem, error_description = "assertion refused by the scripted token endpoint" }), context.RequestAborted);
            return;
        }
        var token = "ya29.scripted-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _tokens[token] = DateTimeOffset.UtcNow + TokenLifetime;
        _issued.Enqueue(token);
        Interlocked.Increment(ref _grants);
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            access_token = token,
            expires_in = (int)TokenLifetime.TotalSeconds,
            token_type = "Bearer",
        }), context.RequestAborted);
    }

    private string? VerifyAssertion(string assertion, Uri tokenUri)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return "invalid_request";
        }
        using var header = JsonDocument.Parse(Base64Url(parts[0]));
        if (header.RootElement.GetProperty("alg").GetString() != "RS256")
        {
            return "invalid_grant";
        }
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!_key.VerifyData(signed, Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return "invalid_grant";
        }
        using var claims = JsonDocument.Parse(Base64Url(parts[1]));
        LastClaims = Encoding.UTF8.GetString(Base64Url(parts[1]));
        var root = claims.RootElement;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var ok = root.GetProperty("iss").GetString() == ClientEmail
            // Google's endpoint wants its own token URL as the audience, whatever token_uri the request was sent to.
            && (root.GetProperty("aud").GetString() == "https://oauth2.googleapis.com/token" || root.GetProperty("aud").GetString() == tokenUri.ToString())
            && (root.GetProperty("scope").GetString() ?? "").Split(' ').Contains(CloudPlatformScope)
            && root.GetProperty("iat").GetInt64() <= now + 60
            && root.GetProperty("exp").GetInt64() > now;
        return ok ? null : "invalid_grant";
    }

    private static byte[] Base64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        return Convert.FromBase64String(padded);
    }

    public void Dispose() => _key.Dispose();
}
