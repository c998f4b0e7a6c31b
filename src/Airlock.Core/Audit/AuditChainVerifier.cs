using System.Globalization;

namespace Airlock.Core.Audit;

/// <summary>The first problem <c>airlock audit verify</c> found, naming the record.</summary>
/// <param name="Sequence">Sequence of the first bad record (or of the checkpoint that failed).</param>
/// <param name="RequestId">Request id of that record, when there is one.</param>
/// <param name="Reason">What is wrong, in words an auditor can act on.</param>
public sealed record AuditChainFault(long Sequence, string? RequestId, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() =>
        RequestId is null
            ? string.Create(CultureInfo.InvariantCulture, $"seq {Sequence}: {Reason}")
            : string.Create(CultureInfo.InvariantCulture, $"seq {Sequence} (request {RequestId}): {Reason}");
}

/// <summary>What a verification covered and the first fault found (null when the trail is intact).</summary>
public sealed record AuditVerification
{
    /// <summary>Records checked.</summary>
    public long Records { get; init; }

    /// <summary>First and last sequence seen.</summary>
    public long FirstSequence { get; init; }

    /// <summary>Last sequence seen.</summary>
    public long LastSequence { get; init; }

    /// <summary>Checkpoints whose signature and hash were checked.</summary>
    public long Checkpoints { get; init; }

    /// <summary>Records missing from a partial (filtered) export; links across them were not checked.</summary>
    public long Gaps { get; init; }

    /// <summary>
    /// When the trail starts after a retention purge: the last purged sequence, accounted for by the purge record
    /// that names it and the hash of the last purged record (0 when the trail starts at seq 1).
    /// </summary>
    public long PurgedThrough { get; init; }

    /// <summary>
    /// Records whose time is earlier than the record before them. Replicas sharing one store each stamp records with
    /// their own clock, so times need not follow the chain order: this is reported, never a fault (order is the sequence).
    /// </summary>
    public long TimeRegressions { get; init; }

    /// <summary>The largest step back in time between consecutive records (zero when times never go back).</summary>
    public TimeSpan LargestTimeRegression { get; init; }

    /// <summary>The first fault, or null.</summary>
    public AuditChainFault? Fault { get; init; }

    /// <summary>True when no fault was found.</summary>
    public bool Intact => Fault is null;

    /// <summary>
    /// Writes the verification as one JSON object: what <c>airlock audit verify --json</c> prints and
    /// <c>GET /admin/v1/audit/verify</c> answers (one writer so the two cannot drift).
    /// </summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="trustedKey">The key signatures were checked with (null: they were not checked).</param>
    public void WriteJson(System.Text.Json.Utf8JsonWriter writer, AuditPublicKey? trustedKey)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteBoolean("intact", Intact);
        writer.WriteNumber("records", Records);
        writer.WriteNumber("first_seq", FirstSequence);
        writer.WriteNumber("last_seq", LastSequence);
        writer.WriteNumber("checkpoints", Checkpoints);
        writer.WriteNumber("gaps", Gaps);
        writer.WriteNumber("purged_through", PurgedThrough);
        writer.WriteNumber("time_regressions", TimeRegressions);
        writer.WriteNumber("largest_time_regression_ms", (long)LargestTimeRegression.TotalMilliseconds);
        writer.WriteBoolean("signatures_checked", trustedKey is not null);
        writer.WriteString("key_id", trustedKey?.KeyId);
        if (Fault is { } fault)
        {
            writer.WriteStartObject("fault");
            writer.WriteNumber("seq", fault.Sequence);
            writer.WriteString("request_id", fault.RequestId);
            writer.WriteString("reason", fault.Reason);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("fault");
        }
        writer.WriteEndObject();
    }
}

/// <summary>
/// Checks a trail record by record, in sequence order, without holding it in memory: each record's
/// hash must be the hash of its canonical encoding, its previous-hash must be the hash of the record
/// before, sequences must increase by one, and every checkpoint must carry a valid signature by the
/// trusted key over the hash its record really has. Edited, deleted, inserted and reordered records
/// all break one of these; the first break is reported.
/// </summary>
public sealed class AuditChainVerifier
{
    private readonly AuditPublicKey? _trustedKey;
    private readonly bool _partial;
    private AuditRecord? _previous;
    private long _records;
    private long _first;
    private long _checkpoints;
    private long _gaps;
    private AuditChainFault? _fault;

    // A complete trail that starts after seq 1 must be explained by a metadata purge record naming the last purged
    // sequence and hash (the first record's previous hash); records deleted any other way leave this unmatched.
    private (long Sequence, string Hash)? _anchor;
    private bool _anchored;

    // The purge record the trail is anchored on. Anyone with write access could append a purge record after the last
    // checkpoint and delete a prefix, so the anchor counts only once a checkpoint at or after it verifies.
    private AuditRecord? _anchorRecord;
    private bool _anchorSigned;
    private long _timeRegressions;
    private TimeSpan _largestTimeRegression;

    /// <param name="trustedKey">Key checkpoints must be signed by; null skips signature checks (reported as such by the caller).</param>
    /// <param name="partial">
    /// True for a filtered export: records may be missing, so a sequence gap is counted rather than a fault, and
    /// links are checked only between consecutive records. Each record's own hash is still checked.
    /// </param>
    public AuditChainVerifier(AuditPublicKey? trustedKey, bool partial = false)
    {
        _trustedKey = trustedKey;
        _partial = partial;
    }

    /// <summary>True once a fault has been found (further input is ignored).</summary>
    public bool Failed => _fault is not null;

    /// <summary>Checks the next record (records must come in the order they are stored, by sequence).</summary>
    public void Add(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_fault is not null)
        {
            return;
        }
        _fault = Check(record);
        if (_fault is null)
        {
            if (_records == 0)
            {
                _first = record.Chain!.Sequence;
            }
            _records++;
            if (_previous is not null && record.Time < _previous.Time)
            {
                _timeRegressions++;
                var back = _previous.Time - record.Time;
                _largestTimeRegression = back > _largestTimeRegression ? back : _largestTimeRegression;
            }
            _previous = record;
            if (_anchor is { } anchor && !_anchored && record.Kind == AuditKind.Purge
                && record.Purge is { Scope: AuditPurgeDetails.MetadataScope, ToSequence: { } to, LastHash: { } lastHash }
                && to == anchor.Sequence && string.Equals(lastHash, anchor.Hash, StringComparison.OrdinalIgnoreCase))
            {
                _anchored = true;
                _anchorRecord = record;
            }
        }
    }

    private AuditChainFault? Check(AuditRecord record)
    {
        if (record.Chain is not { } link)
        {
            return new AuditChainFault(_previous?.Chain?.Sequence + 1 ?? 0, record.RequestId, "record has no chain fields (sequence, previous hash, hash)");
        }
        if (!TryHash(link.PreviousHash, out var previousHash) || !TryHash(link.Hash, out _))
        {
            return new AuditChainFault(link.Sequence, record.RequestId, "hash fields are not 64 hex characters");
        }
        byte[] commitment = [];
        if (link.IdentityCommitment is { } committed && (!TryHash(committed, out commitment)))
        {
            return new AuditChainFault(link.Sequence, record.RequestId, "identity commitment is not 64 hex characters");
        }
        if (link.IdentityCommitment is null && record.Detail is not null)
        {
            return new AuditChainFault(link.Sequence, record.RequestId, "detail on a version 1 record (not covered by its hash): the record was edited");
        }
        if (link.IdentityCommitment is null && record.Purge is not null)
        {
            return new AuditChainFault(link.Sequence, record.RequestId, "purge details on a version 1 record (not covered by its hash): the record was edited");
        }
        var expected = Convert.ToHexStringLower(AuditCanonicalEncoding.Hash(record, link.Sequence, previousHash, commitment));
        if (!string.Equals(expected, link.Hash, StringComparison.OrdinalIgnoreCase))
        {
            return new AuditChainFault(link.Sequence, record.RequestId, "content does not match its hash: the record was edited");
        }
        if (link.IdentityCommitment is not null && AuditIdentity.Check(record, commitment) is { } identityFault)
        {
            return new AuditChainFault(link.Sequence, record.RequestId, identityFault);
        }
        if (_previous?.Chain is not { } before)
        {
            if (!_partial && link.Sequence == 1 && !IsZero(previousHash))
            {
                return new AuditChainFault(link.Sequence, record.RequestId, "first record of the trail does not start the chain (previous hash is not zero)");
            }
            if (!_partial && link.Sequence > 1)
            {
                _anchor = (link.Sequence - 1, link.PreviousHash);
            }
            return null;
        }
        if (link.Sequence <= before.Sequence)
        {
            return new AuditChainFault(link.Sequence, record.RequestId,
                string.Create(CultureInfo.InvariantCulture, $"out of order: comes after seq {before.Sequence} (records were reordered or inserted)"));
        }
        if (link.Sequence != before.Sequence + 1)
        {
            if (_partial)
            {
                _gaps += link.Sequence - before.Sequence - 1;
                return null;
            }
            return new AuditChainFault(link.Sequence, record.RequestId,
                string.Create(CultureInfo.InvariantCulture, $"records seq {before.Sequence + 1}..{link.Sequence - 1} are missing (deleted)"));
        }
        if (!string.Equals(link.PreviousHash, before.Hash, StringComparison.OrdinalIgnoreCase))
        {
            return new AuditChainFault(link.Sequence, record.RequestId,
                string.Create(CultureInfo.InvariantCulture, $"previous-hash link does not match seq {before.Sequence}: a record before it was replaced, inserted or removed"));
        }
        return null;
    }

    /// <summary>
    /// Checks a checkpoint. Call it right after the record with the checkpoint's sequence was added (when the
    /// checkpoint's sequence is lower than the last record added, that record was missing).
    /// </summary>
    public void AddCheckpoint(AuditCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (_fault is not null)
        {
            return;
        }
        if (_trustedKey is not null)
        {
            if (!string.Equals(checkpoint.KeyId, _trustedKey.KeyId, StringComparison.OrdinalIgnoreCase))
            {
                _fault = new AuditChainFault(checkpoint.Sequence, null, $"checkpoint signed by key {checkpoint.KeyId}, not the trusted key {_trustedKey.KeyId}");
                return;
            }
            if (!checkpoint.IsSignedBy(_trustedKey))
            {
                _fault = new AuditChainFault(checkpoint.Sequence, null, "checkpoint signature is invalid: the checkpoint was forged or altered");
                return;
            }
        }
        if (_previous?.Chain is not { } last || last.Sequence != checkpoint.Sequence)
        {
            if (_partial)
            {
                return;
            }
            _fault = new AuditChainFault(checkpoint.Sequence, null,
                _previous?.Chain is { } seen && seen.Sequence > checkpoint.Sequence
                    ? "the record this checkpoint signed is missing"
                    : "the record this checkpoint signed is missing (records were removed from the end of the trail)");
            return;
        }
        if (!string.Equals(last.Hash, checkpoint.Hash, StringComparison.OrdinalIgnoreCase))
        {
            _fault = new AuditChainFault(checkpoint.Sequence, _previous.RequestId,
                "hash differs from the one the signed checkpoint recorded: the chain up to here was rewritten");
            return;
        }
        _checkpoints++;
        if (_anchorRecord?.Chain is { } purge && checkpoint.Sequence >= purge.Sequence)
        {
            _anchorSigned = true;
        }
    }

    /// <summary>
    /// Checks a whole trail: records in sequence order, checkpoints in sequence order (merged as they come).
    /// </summary>
    public static async Task<AuditVerification> VerifyAsync(IAsyncEnumerable<AuditRecord> records, IAsyncEnumerable<AuditCheckpoint> checkpoints,
        AuditPublicKey? trustedKey, bool partial = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(checkpoints);
        var verifier = new AuditChainVerifier(trustedKey, partial);
        await using var pending = checkpoints.GetAsyncEnumerator(cancellationToken);
        var hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var sequence = record.Chain?.Sequence ?? long.MaxValue;
            // A checkpoint for a sequence below this record whose record never came: report it before moving on.
            while (hasCheckpoint && pending.Current.Sequence < sequence && !verifier.Failed)
            {
                verifier.AddCheckpoint(pending.Current);
                hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
            }
            verifier.Add(record);
            while (hasCheckpoint && pending.Current.Sequence == sequence && !verifier.Failed)
            {
                verifier.AddCheckpoint(pending.Current);
                hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
            }
            if (verifier.Failed)
            {
                break;
            }
        }
        while (hasCheckpoint && !verifier.Failed)
        {
            verifier.AddCheckpoint(pending.Current);
            hasCheckpoint = await pending.MoveNextAsync().ConfigureAwait(false);
        }
        return verifier.Result;
    }

    /// <summary>
    /// Checks a live store while it may be appended to. The cut is taken so that concurrent appends are left out but
    /// truncation is not: the last checkpoint is read before the head, so a checkpoint beyond the head can only mean
    /// that records it signed were removed.
    /// </summary>
    public static async Task<AuditVerification> VerifyStoreAsync(IAuditStore store, AuditPublicKey? trustedKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var lastCheckpoint = 0L;
        await foreach (var checkpoint in store.ReadCheckpointsAsync(long.MaxValue, cancellationToken).ConfigureAwait(false))
        {
            lastCheckpoint = checkpoint.Sequence;
        }
        var head = await store.GetChainHeadAsync(cancellationToken).ConfigureAwait(false);
        return await VerifyAsync(
            store.ReadAsync(new AuditQuery { OldestFirst = true, ToSequence = head.Sequence, Limit = int.MaxValue }, cancellationToken),
            store.ReadCheckpointsAsync(Math.Max(head.Sequence, lastCheckpoint), cancellationToken), trustedKey, partial: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The outcome so far. A trail starting after seq 1 is a fault until its purge record has been seen, and that purge
    /// record is a fault until a checkpoint at or after it has verified (an unsigned purge anchor).
    /// </summary>
    public AuditVerification Result => new()
    {
        Records = _records,
        FirstSequence = _first,
        LastSequence = _previous?.Chain?.Sequence ?? 0,
        Checkpoints = _checkpoints,
        Gaps = _gaps,
        PurgedThrough = _anchored && _anchorSigned ? _anchor!.Value.Sequence : 0,
        TimeRegressions = _timeRegressions,
        LargestTimeRegression = _largestTimeRegression,
        Fault = _fault ?? AnchorFault(),
    };

    private AuditChainFault? AnchorFault()
    {
        if (_anchor is not { } anchor)
        {
            return null;
        }
        if (!_anchored)
        {
            return new AuditChainFault(anchor.Sequence + 1, null, string.Create(CultureInfo.InvariantCulture,
                $"records seq 1..{anchor.Sequence} are missing and no purge record accounts for them (deleted)"));
        }
        return _anchorSigned
            ? null
            : new AuditChainFault(_anchorRecord!.Chain!.Sequence, _anchorRecord.RequestId, string.Create(CultureInfo.InvariantCulture,
                $"unsigned purge anchor: this purge record accounts for the missing records seq 1..{anchor.Sequence}, but no signed checkpoint at or after it covers it (a purge record appended after the last checkpoint can be forged)"));
    }

    private static bool TryHash(string hex, out byte[] bytes)
    {
        bytes = [];
        if (hex is not { Length: AuditCanonicalEncoding.HashSize * 2 })
        {
            return false;
        }
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}
