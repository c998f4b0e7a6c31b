namespace Airlock.Core.Identity;

/// <summary>Why a presented credential was refused. Recorded in the audit trail; never includes the credential.</summary>
public enum AuthFailure
{
    /// <summary>Authenticated.</summary>
    None,

    /// <summary>No <c>x-api-key</c> and no <c>Authorization: Bearer</c> header.</summary>
    Missing,

    /// <summary>Not an Airlock key (wrong shape or checksum).</summary>
    Malformed,

    /// <summary>Well-formed, but no such key, or the secret does not match.</summary>
    Unknown,

    /// <summary>The key was revoked.</summary>
    Revoked,

    /// <summary>The key's expiry has passed.</summary>
    Expired,

    /// <summary>The key exists but its role may not call this endpoint.</summary>
    Forbidden,
}

/// <summary>The outcome of authenticating one request.</summary>
public readonly record struct AuthResult(KeyRecord? Key, AuthFailure Failure)
{
    /// <summary>True when a key was accepted.</summary>
    public bool Succeeded => Failure == AuthFailure.None && Key is not null;

    /// <summary>A message safe to return to the client.</summary>
    public string Message => Failure switch
    {
        AuthFailure.None => "ok",
        AuthFailure.Missing => "missing API key: send the Airlock key as x-api-key or Authorization: Bearer",
        AuthFailure.Malformed => "invalid API key: not an Airlock key",
        AuthFailure.Unknown => "invalid API key",
        AuthFailure.Revoked => "API key has been revoked",
        AuthFailure.Expired => "API key has expired",
        AuthFailure.Forbidden => "API key is not allowed to call this endpoint",
        _ => "invalid API key",
    };
}

/// <summary>
/// Checks a presented key against the store on every request, so revocation and expiry take effect
/// on the very next request (no cache to outlive a revocation).
/// </summary>
public sealed class KeyAuthenticator(IKeyStore store, TimeProvider time)
{
    /// <summary>Authenticates the key presented by a client.</summary>
    public async ValueTask<AuthResult> AuthenticateAsync(string? presented, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return new AuthResult(null, AuthFailure.Missing);
        }
        if (!ApiKeys.TryParse(presented, out var id))
        {
            return new AuthResult(null, AuthFailure.Malformed);
        }
        var record = await store.FindKeyAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null || !ApiKeys.Matches(presented, record.Hash))
        {
            return new AuthResult(null, AuthFailure.Unknown);
        }
        if (record.RevokedAt is not null)
        {
            return new AuthResult(record, AuthFailure.Revoked);
        }
        if (record.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return new AuthResult(record, AuthFailure.Expired);
        }
        return new AuthResult(record, AuthFailure.None);
    }
}
