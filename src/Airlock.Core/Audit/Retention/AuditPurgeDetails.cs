namespace Airlock.Core.Audit;

/// <summary>
/// What a purge record (<see cref="AuditKind.Purge"/>) says was removed. A metadata purge names the range of chained
/// records it deleted and the hash of the last one: the verifier anchors the remaining trail on it (the first record
/// left links to <see cref="LastHash"/>). Content purges and subject erasures name counts, never content or identity.
/// </summary>
public sealed record AuditPurgeDetails
{
    /// <summary>Metadata purge: chained records were deleted.</summary>
    public const string MetadataScope = "metadata";

    /// <summary>Content purge: captured content (off the chain) was deleted and expired data keys destroyed.</summary>
    public const string ContentScope = "content";

    /// <summary>Subject erasure: a person's content deleted, identity pseudonymised, keys revoked.</summary>
    public const string SubjectScope = "subject";

    /// <summary><c>metadata</c>, <c>content</c> or <c>subject</c>.</summary>
    public required string Scope { get; init; }

    /// <summary>First sequence deleted (metadata purges).</summary>
    public long? FromSequence { get; init; }

    /// <summary>Last sequence deleted (metadata purges).</summary>
    public long? ToSequence { get; init; }

    /// <summary>Hash (hex) of the last record deleted: the record after it links to this hash.</summary>
    public string? LastHash { get; init; }

    /// <summary>How many records, blobs or rows were removed or pseudonymised.</summary>
    public long? Records { get; init; }

    /// <summary>The retention cut-off: what was older than this was removed.</summary>
    public DateTimeOffset? Before { get; init; }

    /// <summary>Subject erasures: the pseudonym now standing for the person (never the person's name).</summary>
    public string? Subject { get; init; }
}
