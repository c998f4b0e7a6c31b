using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Airlock.Testing;

/// <summary>The verdict of <see cref="BedrockSigV4Verifier"/>: accepted, or the AWS-shaped rejection Bedrock would send.</summary>
/// <param name="Accepted">True when the request may proceed.</param>
/// <param name="Status">HTTP status of the rejection (403 for every authentication failure, as AWS answers).</param>
/// <param name="ErrorType">The <c>x-amzn-ErrorType</c> value, e.g. <c>InvalidSignatureException</c>.</param>
/// <param name="Message">The <c>message</c> AWS puts in the body.</param>
public sealed record BedrockAuthVerdict(bool Accepted, int Status, string ErrorType, string Message)
{
    public static readonly BedrockAuthVerdict Ok = new(true, 200, "", "");

    internal static BedrockAuthVerdict Reject(string errorType, string message) => new(false, 403, errorType, message);
}

/// <summary>
/// Checks a request the way Bedrock Runtime does, for the scripted Bedrock upstream: it recomputes the SigV4 signature
/// from what was received (method, the raw request target as it came off the wire, the signed headers, a SHA-256 of
/// the body) with the test credentials, and rejects missing, malformed, foreign, mis-scoped, expired or wrong signatures
/// with the 403 bodies and <c>x-amzn-ErrorType</c> values AWS returns. It can accept a Bedrock API key (bearer) instead.
/// Canonicalization uses <see cref="SigV4"/> (checked on the AWS test suite); what it is fed is independent of the signer.
/// </summary>
public sealed class BedrockSigV4Verifier
{
    /// <summary>AWS's standard message for a signature that does not match.</summary>
    public const string SignatureMismatchMessage =
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. "
        + "Consult the service documentation for details.";

    private readonly Dictionary<string, AwsCredentials> _credentials = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public BedrockSigV4Verifier(string region, TimeProvider? time = null, params AwsCredentials[] credentials)
    {
        Region = region;
        _time = time ?? TimeProvider.System;
        foreach (var c in credentials)
        {
            _credentials[c.AccessKeyId] = c;
        }
    }

    /// <summary>The region signatures must be scoped to.</summary>
    public string Region { get; }

    /// <summary>The service signatures must be scoped to (<c>bedrock</c>).</summary>
    public string Service { get; init; } = BedrockEndpoint.SigningService;

    /// <summary>How far <c>X-Amz-Date</c> may be from now (AWS: 5 minutes).</summary>
    public TimeSpan AllowedSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>When set, <c>Authorization: Bearer &lt;this&gt;</c> is accepted instead of SigV4 (a Bedrock API key).</summary>
    public string? BearerToken { get; init; }

    /// <summary>The test credentials, the standard AWS documentation example keys.</summary>
    public static AwsCredentials TestCredentials { get; } = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

    /// <summary>Verifies an ASP.NET Core request whose body was read into <paramref name="body"/>.</summary>
    public BedrockAuthVerdict Verify(HttpRequest request, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(request);
        var rawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path + request.QueryString).ToString();
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                headers.Add(new(name, value ?? ""));
            }
        }
        return Verify(request.Method, rawTarget, headers, body);
    }

    /// <summary>Verifies a request given as method, raw request target (<c>/path?query</c> as sent), headers and body.</summary>
    public BedrockAuthVerdict Verify(string method, string rawTarget, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(rawTarget);
        ArgumentNullException.ThrowIfNull(headers);
        string? Header(string name)
        {
            var values = headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
            return values.Count == 0 ? null : string.Join(',', values);
        }

        var authorization = Header("Authorization");
        if (string.IsNullOrEmpty(authorization))
        {
            return BedrockAuthVerdict.Reject("MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        if (authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return BearerToken is not null && CryptographicOperations.FixedTimeEquals(
                Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim()), Encoding.UTF8.GetBytes(BearerToken))
                ? BedrockAuthVerdict.Ok
                : BedrockAuthVerdict.Reject("UnrecognizedClientException", "Invalid API Key format: Must be a valid Bedrock API key");
        }
        if (!TryParseAuthorization(authorization, out var credential, out var signedHeaders, out var signature))
        {
            return BedrockAuthVerdict.Reject("IncompleteSignatureException",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=" + AuthorizationForError(authorization));
        }
        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            return BedrockAuthVerdict.Reject("IncompleteSignatureException", "Credential should be scoped to a valid region.");
        }
        if (!_credentials.TryGetValue(scope[0], out var known))
        {
            return BedrockAuthVerdict.Reject("UnrecognizedClientException", "The security token included in the request is invalid.");
        }
        var amzDate = Header("X-Amz-Date");
        if (!SigV4.TryParseAmzDate(amzDate, out var signedAt))
        {
            return BedrockAuthVerdict.Reject("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        }
        if (scope[1] != amzDate![..8])
        {
            return BedrockAuthVerdict.Reject("InvalidSignatureException", $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope[1]}' != '{amzDate[..8]}', from '{amzDate}'.");
        }
        if (scope[2] != Region)
        {
            return BedrockAuthVerdict.Reject("InvalidSignatureException", $"Credential should be scoped to a valid region, not '{scope[2]}'.");
        }
        if (scope[3] != Service)
        {
            return BedrockAuthVerdict.Reject("InvalidSignatureException", $"Credential should be scoped to correct service: '{Service}'.");
        }
        var now = _time.GetUtcNow();
        if (signedAt < now - AllowedSkew)
        {
            return BedrockAuthVerdict.Reject("InvalidSignatureException",
                $"Signature expired: {amzDate} is now earlier than {SigV4.FormatAmzDate(now - AllowedSkew)} ({SigV4.FormatAmzDate(now)} - {AllowedSkew.TotalMinutes:0} min.)");
        }
        if (signedAt > now + AllowedSkew)
        {
            return BedrockAuthVerdict.Reject("InvalidSignatureException",
                $"Signature not yet current: {amzDate} is still later than {SigV4.FormatAmzDate(now + AllowedSkew)} ({SigV4.FormatAmzDate(now)} + {AllowedSkew.TotalMinutes:0} min.)");
        }
        var names = signedHeaders.Split(';');
        if (!names.Contains("host"))
        {
            return BedrockAuthVerdict.Reject("InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        }
        if (known.SessionToken is not null)
        {
            var token = Header("X-Amz-Security-Token");
            if (token is null || !names.Contains("x-amz-security-token")
                || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(known.SessionToken)))
            {
                return BedrockAuthVerdict.Reject("UnrecognizedClientException", "The security token included in the request is invalid.");
            }
        }
        if (known.Expiration is { } expires && expires <= now)
        {
            return BedrockAuthVerdict.Reject("ExpiredTokenException", "The security token included in the request is expired");
        }
        var toSign = new List<KeyValuePair<string, string>>();
        foreach (var name in names)
        {
            var value = Header(name);
            if (value is null)
            {
                return BedrockAuthVerdict.Reject("InvalidSignatureException", SignatureMismatchMessage);
            }
            toSign.Add(new(name, value));
        }
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? rawTarget : rawTarget[..query];
        var queryString = query < 0 ? "" : rawTarget[(query + 1)..];
        var expected = SigV4.Sign(new SigV4Request(method, path, queryString, toSign, SigV4.HashPayload(body)), known, Region, Service, signedAt);
        // Like AWS, a mismatch quotes what the service computed: the canonical request (with every signed header's value,
        // x-amz-security-token included) and the string to sign. A gateway must not hand that text to its clients.
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected.Signature), Encoding.ASCII.GetBytes(signature))
            ? BedrockAuthVerdict.Ok
            : BedrockAuthVerdict.Reject("InvalidSignatureException", SignatureMismatchMessage
                + $"\n\nThe Canonical String for this request should have been\n'{expected.CanonicalRequest}'\n\nThe String-to-Sign should have been\n'{expected.StringToSign}'\n");
    }

    /// <summary>Writes the rejection as Bedrock does: status, <c>x-amzn-ErrorType</c>, <c>x-amzn-RequestId</c>, <c>{"message":…}</c>.</summary>
    public static async Task WriteRejectionAsync(HttpResponse response, BedrockAuthVerdict verdict, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(verdict);
        response.StatusCode = verdict.Status;
        response.ContentType = "application/json";
        response.Headers[BedrockErrors.ErrorTypeHeader] = verdict.ErrorType;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await response.Body.WriteAsync(BedrockErrors.Body(verdict.Message), cancellationToken);
    }

    private static bool TryParseAuthorization(string value, out string credential, out string signedHeaders, out string signature)
    {
        credential = signedHeaders = signature = "";
        if (!value.StartsWith(SigV4.Algorithm + " ", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var part in value[(SigV4.Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                return false;
            }
            var (key, item) = (part[..equals], part[(equals + 1)..]);
            switch (key)
            {
                case "Credential":
                    credential = item;
                    break;
                case "SignedHeaders":
                    signedHeaders = item;
                    break;
                case "Signature":
                    signature = item;
                    break;
            }
        }
        return credential.Length > 0 && signedHeaders.Length > 0 && signature.Length > 0;
    }

    /// <summary>AWS echoes the header in this error; the signature part is cut so test logs stay free of it.</summary>
    private static string AuthorizationForError(string authorization) =>
        authorization.Length > 40 ? authorization[..40] + "…" : authorization;

    /// <summary>For assertions: the <c>X-Amz-Date</c> of <paramref name="time"/>.</summary>
    public static string AmzDate(DateTimeOffset time) => SigV4.FormatAmzDate(time).ToString(CultureInfo.InvariantCulture);
}
