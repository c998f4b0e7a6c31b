namespace Airlock.Protocols.Aws.Signing;

/// <summary>
/// An AWS access key pair, with the session token of temporary credentials. <see cref="ToString"/> never shows the
/// secret or the token, so the object can be logged by mistake without leaking them.
/// </summary>
public sealed class AwsCredentials
{
    public AwsCredentials(string accessKeyId, string secretAccessKey, string? sessionToken = null, DateTimeOffset? expiration = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessKeyId);
        ArgumentException.ThrowIfNullOrEmpty(secretAccessKey);
        AccessKeyId = accessKeyId;
        SecretAccessKey = secretAccessKey;
        SessionToken = string.IsNullOrEmpty(sessionToken) ? null : sessionToken;
        Expiration = expiration;
    }

    /// <summary>The access key id (appears in the <c>Authorization</c> header in clear; not a secret on its own).</summary>
    public string AccessKeyId { get; }

    /// <summary>The secret key. Never log it.</summary>
    public string SecretAccessKey { get; }

    /// <summary>Session token of temporary credentials (sent as <c>X-Amz-Security-Token</c>), or null.</summary>
    public string? SessionToken { get; }

    /// <summary>When temporary credentials expire, when known.</summary>
    public DateTimeOffset? Expiration { get; }

    /// <summary>The access key id's last four characters only.</summary>
    public override string ToString() =>
        $"AwsCredentials(…{AccessKeyId[Math.Max(0, AccessKeyId.Length - 4)..]}{(SessionToken is null ? "" : ", temporary")})";
}
