namespace Airlock.Core.Audit.Capture;

/// <summary>
/// Captured content, stored apart from the chained metadata and only ever encrypted (<see cref="ContentSealer"/>), with
/// the wrapped per-period data keys that open it. Both stores implement it (tables <c>audit_content</c>,
/// <c>audit_content_keys</c>).
/// </summary>
public interface IAuditContentStore
{
    /// <summary>Stores sealed content; a request id already stored is left as it is.</summary>
    Task AppendContentAsync(IReadOnlyList<SealedContent> items, CancellationToken cancellationToken = default);

    /// <summary>Streams the sealed content of <paramref name="user"/> (subject export), oldest first.</summary>
    IAsyncEnumerable<SealedContent> ReadContentOfUserAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>The sealed content of one request, or null.</summary>
    Task<SealedContent?> FindContentAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>Streams what retention needs to decide (no ciphertext) for content older than <paramref name="olderThan"/>.</summary>
    IAsyncEnumerable<ContentIndexEntry> ReadContentIndexAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default);

    /// <summary>Deletes the content of these requests. Returns how many rows were deleted.</summary>
    Task<long> DeleteContentAsync(IReadOnlyList<string> requestIds, CancellationToken cancellationToken = default);

    /// <summary>Deletes every captured content of <paramref name="user"/>. Returns how many rows were deleted.</summary>
    Task<long> DeleteContentOfUserAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>The wrapped data key of <paramref name="period"/>, or null (never created, or destroyed).</summary>
    Task<WrappedDataKey?> FindDataKeyAsync(string period, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="key"/> unless its period already has one; returns the one stored (another
    /// replica may have created it first: everybody then uses the same key).</summary>
    Task<WrappedDataKey> AddDataKeyAsync(WrappedDataKey key, CancellationToken cancellationToken = default);

    /// <summary>Destroys the data keys of periods before <paramref name="period"/> (crypto-shredding whatever they
    /// sealed). Returns the periods destroyed.</summary>
    Task<IReadOnlyList<string>> DeleteDataKeysBeforeAsync(string period, CancellationToken cancellationToken = default);
}

/// <summary>One request's captured content, encrypted.</summary>
/// <param name="RequestId">The audit record it belongs to (also the AES-GCM associated data).</param>
/// <param name="Time">The request's time.</param>
/// <param name="User">Key owner (for subject export and erasure).</param>
/// <param name="Team">Key team (for per-team retention).</param>
/// <param name="Mode"><c>redacted</c> or <c>full</c>.</param>
/// <param name="Period">The data key's period (UTC day, <c>yyyy-MM-dd</c>).</param>
/// <param name="Nonce">12-byte AES-GCM nonce, random per blob.</param>
/// <param name="Ciphertext">Ciphertext followed by the 16-byte tag.</param>
public sealed record SealedContent(string RequestId, DateTimeOffset Time, string? User, string? Team, string Mode, string Period, byte[] Nonce, byte[] Ciphertext);

/// <summary>What retention reads about a captured content (no ciphertext).</summary>
public readonly record struct ContentIndexEntry(string RequestId, DateTimeOffset Time, string? Team, string Mode);

/// <summary>A period's data key as stored: wrapped by a master key.</summary>
/// <param name="Period">UTC day, <c>yyyy-MM-dd</c>.</param>
/// <param name="MasterKeyId">Id of the master key that wrapped it (<see cref="IKeyWrapper.KeyId"/>).</param>
/// <param name="Wrapped">The wrapped key (format up to the wrapper).</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record WrappedDataKey(string Period, string MasterKeyId, byte[] Wrapped, DateTimeOffset CreatedAt);
