using Airlock.Core.Audit.Capture;
using Airlock.Core.Configuration;

namespace Airlock.Core.Audit;

/// <summary>What one purge run removed (or, on a dry run, would remove).</summary>
public sealed record AuditPurgeReport
{
    /// <summary>Chained records deleted (or due).</summary>
    public long MetadataRecords { get; init; }

    /// <summary>First sequence purged (0 when none).</summary>
    public long FromSequence { get; init; }

    /// <summary>Last sequence purged (0 when none).</summary>
    public long ToSequence { get; init; }

    /// <summary>Captured contents deleted (or due).</summary>
    public long ContentBlobs { get; init; }

    /// <summary>Data-key periods destroyed (or due).</summary>
    public IReadOnlyList<string> DestroyedKeyPeriods { get; init; } = [];

    /// <summary>True when nothing was changed (dry run).</summary>
    public bool DryRun { get; init; }
}

/// <summary>
/// Enforces retention. Metadata: deletes the oldest chained records whose team's metadata retention has passed,
/// as one prefix of the chain by sequence: the longest prefix whose records are all past their retention. It stops at
/// the first record still retained, so a team with a longer retention, or a record a replica with a slow clock stamped
/// later than its neighbours, holds back the records after it; a record is never deleted early because of clock skew,
/// at worst kept longer, after appending a purge record that names the range and the hash of the last purged
/// record: the verifier anchors the remaining chain on it. Content: deletes captured content older than its team's
/// (and mode's) content retention, and destroys the data keys of periods older than the longest content retention
/// (crypto-shredding any copy of those blobs). Each purge that removed something is itself recorded.
/// </summary>
public sealed class AuditPurger(IAuditStore store, IAuditRetentionStore retentionStore, IAuditContentStore? contentStore, TimeProvider time)
{
    private const int DeleteBatch = 1_000;

    /// <summary>Who runs the purge (<c>gateway</c>, <c>cli</c>): the purge records' door.</summary>
    public string Actor { get; init; } = "gateway";

    /// <summary>Runs one purge under <paramref name="retention"/>.</summary>
    public async Task<AuditPurgeReport> PurgeAsync(RetentionConfig retention, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retention);
        var now = time.GetUtcNow();
        var report = await PurgeMetadataAsync(retention, now, dryRun, cancellationToken).ConfigureAwait(false);
        if (contentStore is not null)
        {
            report = await PurgeContentAsync(retention, now, dryRun, report, cancellationToken).ConfigureAwait(false);
        }
        return report with { DryRun = dryRun };
    }

    private async Task<AuditPurgeReport> PurgeMetadataAsync(RetentionConfig retention, DateTimeOffset now, bool dryRun, CancellationToken cancellationToken)
    {
        long first = 0, last = 0, count = 0;
        string? lastHash = null;
        DateTimeOffset? newestPurged = null;
        await foreach (var record in store.ReadAsync(new AuditQuery { OldestFirst = true, Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false))
        {
            if (record.Chain is not { } link || record.Time >= now - retention.For(record.Team).Metadata)
            {
                break;
            }
            if (first == 0)
            {
                first = link.Sequence;
            }
            last = link.Sequence;
            lastHash = link.Hash;
            // Times need not rise with the sequence (replicas' clocks differ): the newest purged time is the maximum.
            newestPurged = newestPurged is { } newest && newest > record.Time ? newest : record.Time;
            count++;
        }
        if (count == 0)
        {
            return new AuditPurgeReport();
        }
        if (!dryRun)
        {
            // The purge record goes first: a crash before the delete leaves an extra record, never an unexplained gap.
            await store.AppendAsync([PurgeRecord("purge_metadata", new AuditPurgeDetails
            {
                Scope = AuditPurgeDetails.MetadataScope,
                FromSequence = first,
                ToSequence = last,
                LastHash = lastHash,
                Records = count,
                Before = newestPurged,
            }, now)], cancellationToken).ConfigureAwait(false);
            count = await retentionStore.DeleteRecordsThroughAsync(last, cancellationToken).ConfigureAwait(false);
        }
        return new AuditPurgeReport { MetadataRecords = count, FromSequence = first, ToSequence = last };
    }

    private async Task<AuditPurgeReport> PurgeContentAsync(RetentionConfig retention, DateTimeOffset now, bool dryRun, AuditPurgeReport report,
        CancellationToken cancellationToken)
    {
        var periods = retention.Teams.Values.Append(retention.Default).ToList();
        var shortest = periods.Min(p => p.FullContent is { } full && full < p.Content ? full : p.Content);
        var longest = periods.Max(p => p.FullContent is { } full && full > p.Content ? full : p.Content);
        var due = new List<string>();
        long deleted = 0;
        await foreach (var entry in contentStore!.ReadContentIndexAsync(now - shortest, cancellationToken).ConfigureAwait(false))
        {
            if (entry.Time < now - retention.For(entry.Team).ContentFor(entry.Mode))
            {
                due.Add(entry.RequestId);
            }
        }
        for (var i = 0; i < due.Count; i += DeleteBatch)
        {
            var batch = due.GetRange(i, Math.Min(DeleteBatch, due.Count - i));
            deleted += dryRun ? batch.Count : await contentStore.DeleteContentAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        // A period's key goes once the whole period is older than the longest content retention.
        var keepFrom = ContentSealer.PeriodOf(now - longest);
        IReadOnlyList<string> destroyed = dryRun
            ? []
            : await contentStore.DeleteDataKeysBeforeAsync(keepFrom, cancellationToken).ConfigureAwait(false);
        if (!dryRun && (deleted > 0 || destroyed.Count > 0))
        {
            await store.AppendAsync([PurgeRecord("purge_content", new AuditPurgeDetails
            {
                Scope = AuditPurgeDetails.ContentScope,
                Records = deleted,
                Before = now - shortest,
                Subject = destroyed.Count == 0 ? null : "data keys destroyed: " + string.Join(' ', destroyed),
            }, now)], cancellationToken).ConfigureAwait(false);
        }
        return report with { ContentBlobs = deleted, DestroyedKeyPeriods = destroyed };
    }

    /// <summary>A purge record (kind purge) for <paramref name="details"/>.</summary>
    public AuditRecord PurgeRecord(string operation, AuditPurgeDetails details, DateTimeOffset at) => new()
    {
        Kind = AuditKind.Purge,
        RequestId = "purge-" + Guid.CreateVersion7(at).ToString("N"),
        Time = at,
        Door = Actor,
        Operation = operation,
        Outcome = AuditOutcome.Ok,
        Purge = details,
    };
}
