namespace Airlock.Core.Audit;

/// <summary>
/// The destructive operations retention and subject rights need on the chained trail (both stores implement them).
/// They never rewrite a hash: a purge deletes a prefix of the chain (anchored by a purge record), an erasure changes
/// only fields the version 2 hash does not cover directly (see <see cref="AuditIdentity"/>).
/// </summary>
public interface IAuditRetentionStore
{
    /// <summary>
    /// Deletes the records with sequence at or below <paramref name="throughSequence"/> and the checkpoints over them,
    /// in one transaction. Returns the number of records deleted.
    /// </summary>
    Task<long> DeleteRecordsThroughAsync(long throughSequence, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases <paramref name="user"/> from every version 2 record: the user becomes <paramref name="pseudonym"/>, the
    /// client address null and the identity salt is deleted. Version 1 records (hashed with the user in clear) are
    /// left as they are and counted in <see cref="SubjectErasureCount.Unerasable"/>.
    /// </summary>
    Task<SubjectErasureCount> PseudonymiseUserAsync(string user, string pseudonym, CancellationToken cancellationToken = default);
}

/// <summary>What an erasure changed in the chained trail.</summary>
/// <param name="Pseudonymised">Records whose identity was replaced by the pseudonym.</param>
/// <param name="Unerasable">Version 1 records that still name the user (their hash covers the name; retention removes them).</param>
public readonly record struct SubjectErasureCount(long Pseudonymised, long Unerasable);

/// <summary>Keys owned by a person, for subject erasure (the key store implements it).</summary>
public interface ISubjectKeyStore
{
    /// <summary>Revokes every key of <paramref name="user"/> (at <paramref name="at"/>) and renames their owner to
    /// <paramref name="pseudonym"/>. Returns the number of keys changed.</summary>
    Task<int> EraseKeyOwnerAsync(string user, string pseudonym, DateTimeOffset at, CancellationToken cancellationToken = default);
}
