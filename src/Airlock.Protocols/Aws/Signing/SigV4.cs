using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Airlock.Protocols.Aws.Signing;

/// <summary>What SigV4 signs of a request: the request line as sent on the wire, the headers to sign, the payload hash.</summary>
/// <param name="Method">HTTP method, e.g. <c>POST</c>.</param>
/// <param name="Path">The path exactly as sent on the wire (already percent-encoded once), e.g. <c>/model/anthropic.claude-v2%3A1/invoke</c>.</param>
/// <param name="Query">The query as sent on the wire, without <c>?</c>; empty when none.</param>
/// <param name="Headers">The headers to sign (name, value); repeated names are joined with <c>,</c> as SigV4 specifies.</param>
/// <param name="PayloadHash">Lower-case hex SHA-256 of the body (<see cref="SigV4.HashPayload"/>).</param>
public sealed record SigV4Request(string Method, string Path, string Query, IReadOnlyList<KeyValuePair<string, string>> Headers, string PayloadHash);

/// <summary>The result of signing: the pieces AWS's own error messages and test vectors show, and the header to send.</summary>
public sealed record SigV4Signature(string CanonicalRequest, string StringToSign, string SignedHeaders, string Signature, string Authorization);

/// <summary>
/// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html),
/// as used by Bedrock Runtime (service name <c>bedrock</c>). Checked against the AWS signing test suite
/// (awslabs/aws-c-auth <c>tests/aws-signing-test-suite/v4</c>) and against AWSSDK.Core's <c>AWS4Signer.ComputeSignature</c>.
/// </summary>
/// <remarks>
/// Path rule: for every service but S3 the canonical URI is the wire path URI-encoded once more, so a Bedrock model id
/// <c>anthropic.claude-v2:1</c> is <c>%3A</c> on the wire and <c>%253A</c> in the canonical request (botocore and the AWS
/// SDKs "double-encode"). This class takes the wire path and encodes it once; it never normalizes <c>.</c>/<c>..</c>
/// segments (Bedrock paths have none; model ids with them are refused before signing).
/// </remarks>
public static class SigV4
{
    /// <summary>The signing algorithm name.</summary>
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>Hex SHA-256 of the empty body.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary><c>yyyyMMdd'T'HHmmss'Z'</c>, the <c>X-Amz-Date</c> format.</summary>
    public static string FormatAmzDate(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses an <c>X-Amz-Date</c> value.</summary>
    public static bool TryParseAmzDate(string? value, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(value, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    /// <summary>Lower-case hex SHA-256 of <paramref name="payload"/>.</summary>
    public static string HashPayload(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Signs <paramref name="request"/> for <paramref name="region"/>/<paramref name="service"/> at <paramref name="signingTime"/>.</summary>
    public static SigV4Signature Sign(SigV4Request request, AwsCredentials credentials, string region, string service, DateTimeOffset signingTime) =>
        Sign(request, credentials, region, service, signingTime, null);

    /// <summary>As <see cref="Sign(SigV4Request, AwsCredentials, string, string, DateTimeOffset)"/>, reusing a cached signing key.</summary>
    public static SigV4Signature Sign(SigV4Request request, AwsCredentials credentials, string region, string service, DateTimeOffset signingTime,
        SigningKeyCache? keyCache)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var amzDate = FormatAmzDate(signingTime);
        var date = amzDate[..8];
        var (canonical, signedHeaders) = CanonicalRequest(request);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{HashPayload(Encoding.UTF8.GetBytes(canonical))}";
        var key = keyCache is null
            ? DeriveSigningKey(credentials.SecretAccessKey, date, region, service)
            : keyCache.Get(credentials.SecretAccessKey, date, region, service);
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        var authorization = $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new SigV4Signature(canonical, stringToSign, signedHeaders, signature, authorization);
    }

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").</summary>
    public static byte[] DeriveSigningKey(string secretAccessKey, string date, string region, string service)
    {
        ArgumentNullException.ThrowIfNull(secretAccessKey);
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    /// <summary>The canonical request and the signed-headers list.</summary>
    public static (string CanonicalRequest, string SignedHeaders) CanonicalRequest(SigV4Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in request.Headers)
        {
            var lower = name.ToLowerInvariant();
            var canonicalValue = CanonicalHeaderValue(value);
            headers[lower] = headers.TryGetValue(lower, out var existing) ? existing + "," + canonicalValue : canonicalValue;
        }
        var signedHeaders = string.Join(';', headers.Keys);
        var text = new StringBuilder(256);
        text.Append(request.Method.ToUpperInvariant()).Append('\n');
        text.Append(CanonicalUri(request.Path)).Append('\n');
        text.Append(CanonicalQuery(request.Query)).Append('\n');
        foreach (var (name, value) in headers)
        {
            text.Append(name).Append(':').Append(value).Append('\n');
        }
        text.Append('\n').Append(signedHeaders).Append('\n').Append(request.PayloadHash);
        return (text.ToString(), signedHeaders);
    }

    /// <summary>The wire path URI-encoded once more (slashes kept); <c>/</c> when empty.</summary>
    public static string CanonicalUri(string wirePath)
    {
        ArgumentNullException.ThrowIfNull(wirePath);
        return wirePath.Length == 0 ? "/" : UriEncode(wirePath, keepSlash: true);
    }

    /// <summary>Query parameters decoded, re-encoded strictly (RFC 3986 unreserved kept), sorted by name then value.</summary>
    public static string CanonicalQuery(string wireQuery)
    {
        ArgumentNullException.ThrowIfNull(wireQuery);
        if (wireQuery.StartsWith('?'))
        {
            wireQuery = wireQuery[1..];
        }
        if (wireQuery.Length == 0)
        {
            return "";
        }
        var pairs = new List<(string Name, string Value)>();
        foreach (var part in wireQuery.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? part : part[..equals];
            var value = equals < 0 ? "" : part[(equals + 1)..];
            pairs.Add((UriEncode(Uri.UnescapeDataString(name), keepSlash: false), UriEncode(Uri.UnescapeDataString(value), keepSlash: false)));
        }
        pairs.Sort((a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });
        return string.Join('&', pairs.Select(p => p.Name + "=" + p.Value));
    }

    /// <summary>Trimmed, with runs of spaces collapsed to one (the SigV4 canonical header value).</summary>
    public static string CanonicalHeaderValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal))
        {
            return trimmed;
        }
        var text = new StringBuilder(trimmed.Length);
        var lastWasSpace = false;
        foreach (var c in trimmed)
        {
            if (c == ' ' && lastWasSpace)
            {
                continue;
            }
            lastWasSpace = c == ' ';
            text.Append(c);
        }
        return text.ToString();
    }

    /// <summary>
    /// SigV4 URI encoding: every byte of the UTF-8 form except <c>A–Z a–z 0–9 - . _ ~</c> (and <c>/</c> when
    /// <paramref name="keepSlash"/>) becomes <c>%XX</c> with upper-case hex. A <c>%</c> is encoded too, which is what makes
    /// the canonical path of an already-encoded wire path double-encoded.
    /// </summary>
    public static string UriEncode(string value, bool keepSlash)
    {
        ArgumentNullException.ThrowIfNull(value);
        var bytes = Encoding.UTF8.GetBytes(value);
        var text = new StringBuilder(bytes.Length + 16);
        foreach (var b in bytes)
        {
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9'
                or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~' || (keepSlash && b == (byte)'/'))
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return text.ToString();
    }
}

/// <summary>
/// Keeps the last derived signing key: it depends only on the secret, the day, the region and the service, so one
/// derivation (four HMACs) serves every request of the day.
/// </summary>
public sealed class SigningKeyCache
{
    private Entry? _entry;

    /// <summary>The signing key, derived on first use for these inputs.</summary>
    public byte[] Get(string secretAccessKey, string date, string region, string service)
    {
        var entry = _entry;
        if (entry is not null && entry.Date == date && entry.Region == region && entry.Service == service
            && ReferenceEquals(entry.Secret, secretAccessKey))
        {
            return entry.Key;
        }
        var key = SigV4.DeriveSigningKey(secretAccessKey, date, region, service);
        _entry = new Entry(secretAccessKey, date, region, service, key);
        return key;
    }

    private sealed record Entry(string Secret, string Date, string Region, string Service, byte[] Key);
}
