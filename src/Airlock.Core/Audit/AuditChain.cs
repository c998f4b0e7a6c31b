using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Airlock.Core.Audit;

/// <summary>A record's place in the hash chain.</summary>
/// <param name="Sequence">Position in the trail, from 1, increasing by one per record.</param>
/// <param name="PreviousHash">Lowercase hex SHA-256 of the record before (64 zeros for the first record).</param>
/// <param name="Hash">Lowercase hex SHA-256 of this record's canonical encoding, which includes <paramref name="PreviousHash"/>.</param>
/// <param name="IdentityCommitment">
/// Encoding version 2: lowercase hex of the salted commitment to the record's identity (user and client address) that
/// the hash covers in their place (<see cref="AuditIdentity"/>). Null on version 1 records, which hash the identity itself.
/// </param>
/// <param name="IdentitySalt">
/// The 32-byte random salt (hex) that opens <paramref name="IdentityCommitment"/>. Erasing a subject deletes it (and
/// pseudonymises the identity): the commitment, and so the chain, stays valid while nothing links it to the person.
/// </param>
public sealed record AuditChainLink(long Sequence, string PreviousHash, string Hash, string? IdentityCommitment = null, string? IdentitySalt = null)
{
    /// <summary>The canonical encoding version this link's record was hashed with, as far as the link tells (1 or 2; a
    /// version 2 link of a record with a <see cref="AuditRecord.Detail"/> is version 3).</summary>
    public byte EncodingVersion => IdentityCommitment is null ? (byte)1 : (byte)2;
}

/// <summary>The last record of the chain: where the next record attaches.</summary>
/// <param name="Sequence">Sequence of the last record (0 for an empty trail).</param>
/// <param name="Hash">Its hash (32 zero bytes for an empty trail).</param>
public readonly record struct AuditChainHead(long Sequence, ReadOnlyMemory<byte> Hash)
{
    /// <summary>The head of an empty trail.</summary>
    public static AuditChainHead Genesis { get; } = new(0, new byte[AuditCanonicalEncoding.HashSize]);

    /// <summary>
    /// Attaches <paramref name="record"/> after this head with encoding version 2: returns the record (texts cleaned by
    /// <see cref="AuditRecordText.Clean(AuditRecord)"/>) with its chain link, and the new head. The identity salt of the
    /// record's existing link is kept (re-chaining a record does not re-salt it); a record without one gets a fresh
    /// random salt.
    /// </summary>
    public (AuditRecord Record, AuditChainHead Head) Append(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        record = AuditRecordText.Clean(record);
        var sequence = Sequence + 1;
        var salt = record.Chain?.IdentitySalt is { Length: AuditIdentity.SaltSize * 2 } kept ? Convert.FromHexString(kept) : AuditIdentity.NewSalt();
        var commitment = AuditIdentity.Commit(salt, record.User, record.ClientAddress);
        var hash = AuditCanonicalEncoding.Hash(record, sequence, Hash.Span, commitment);
        var link = new AuditChainLink(sequence, Convert.ToHexStringLower(Hash.Span), Convert.ToHexStringLower(hash),
            Convert.ToHexStringLower(commitment), Convert.ToHexStringLower(salt));
        return (record with { Chain = link }, new AuditChainHead(sequence, hash));
    }
}

/// <summary>
/// The canonical byte encoding of an audit record, hashed with SHA-256 into the chain. It is defined here,
/// independently of any store or export format, so the same record hashes the same in SQLite, PostgreSQL, a
/// JSONL or CSV export, and an auditor's own re-implementation (<c>docs/audit.md</c> specifies it).
/// <para>
/// Version 1: the ASCII magic <c>AIRLOCK-AUDIT-RECORD</c>, the version byte <c>0x01</c>, the sequence (int64),
/// the previous record's hash (32 bytes), then every field in a fixed order. A string is <c>0x00</c> when null,
/// else <c>0x01</c>, its UTF-8 length (uint32) and bytes; an integer is <c>0x00</c> or <c>0x01</c> and 8 bytes;
/// a real is the same with IEEE 754 binary64 bits (-0 written as +0); a boolean is one byte; a list is its
/// count (uint32) then its items. All integers are big-endian. Times are Unix milliseconds (the stores keep
/// milliseconds); enumerations are their stored text (<c>tool_event</c>, <c>upstream_error</c>, <c>deny</c>).
/// </para>
/// <para>
/// Version 2 (every record appended since schema 4) is version 1 with the version byte <c>0x02</c>, the user replaced
/// by the 32-byte identity commitment (<see cref="AuditIdentity"/>, written without a presence byte), the client
/// address left out (the commitment covers it), and after the tool event a purge block: <c>0x00</c>, or <c>0x01</c>
/// and scope, from_sequence, to_sequence, last_hash, records, before (Unix ms), subject.
/// </para>
/// <para>
/// Version 3 (records with a <see cref="AuditRecord.Detail"/>, admin records since schema 5) is version 2 with the
/// version byte <c>0x03</c> and the detail string after the purge block. A record's version follows from its fields:
/// no identity commitment is version 1, a commitment and no detail version 2, both version 3; the version byte is
/// hashed, so adding or removing a detail (or a commitment) breaks the record's hash.
/// </para>
/// A new field means a new version: records keep the version they were hashed with.
/// </summary>
public static class AuditCanonicalEncoding
{
    /// <summary>Encoding version of records without an identity commitment.</summary>
    public const byte Version = 1;

    /// <summary>Encoding version of records with an identity commitment and purge details.</summary>
    public const byte Version2 = 2;

    /// <summary>Encoding version 2 plus the admin detail (records that have a <see cref="AuditRecord.Detail"/>).</summary>
    public const byte Version3 = 3;

    /// <summary>Size of a chain hash (SHA-256).</summary>
    public const int HashSize = 32;

    private static readonly byte[] Magic = "AIRLOCK-AUDIT-RECORD"u8.ToArray();

    /// <summary>
    /// The canonical bytes of <paramref name="record"/> at <paramref name="sequence"/> after <paramref name="previousHash"/>:
    /// version 1 when <paramref name="identityCommitment"/> is empty, else version 2.
    /// </summary>
    public static byte[] Encode(AuditRecord record, long sequence, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> identityCommitment = default)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(buffer, record, sequence, previousHash, identityCommitment);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>SHA-256 of the canonical bytes: the record's chain hash (version 2 when a commitment is given).</summary>
    public static byte[] Hash(AuditRecord record, long sequence, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> identityCommitment = default)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(buffer, record, sequence, previousHash, identityCommitment);
        return SHA256.HashData(buffer.WrittenSpan);
    }

    private static void Write(ArrayBufferWriter<byte> w, AuditRecord r, long sequence, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> commitment)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (previousHash.Length != HashSize)
        {
            throw new ArgumentException($"previous hash must be {HashSize} bytes", nameof(previousHash));
        }
        var v2 = !commitment.IsEmpty;
        if (v2 && commitment.Length != AuditIdentity.CommitmentSize)
        {
            throw new ArgumentException($"identity commitment must be {AuditIdentity.CommitmentSize} bytes", nameof(commitment));
        }
        if (!v2 && r.Purge is not null)
        {
            // Version 1 has no place for purge details: they would not be covered by the hash.
            throw new ArgumentException("a purge record needs encoding version 2 (an identity commitment)", nameof(commitment));
        }
        if (!v2 && r.Detail is not null)
        {
            throw new ArgumentException("a record with a detail needs encoding version 3 (an identity commitment)", nameof(commitment));
        }
        var v3 = v2 && r.Detail is not null;
        w.Write(Magic);
        Byte(w, v3 ? Version3 : v2 ? Version2 : Version);
        WriteInt64(w, sequence);
        w.Write(previousHash);
        Str(w, AuditKinds.ToText(r.Kind));
        Str(w, r.RequestId);
        Int(w, r.Time.ToUnixTimeMilliseconds());
        Str(w, r.Door);
        Str(w, r.Operation);
        Str(w, r.KeyId);
        if (v2)
        {
            w.Write(commitment);
        }
        else
        {
            Str(w, r.User);
        }
        Str(w, r.Team);
        Str(w, r.SessionId);
        Str(w, r.Model);
        Str(w, r.Upstream);
        Int(w, r.Status);
        Str(w, AuditOutcomes.ToText(r.Outcome));
        Str(w, r.ErrorType);
        Real(w, r.LatencyMs);
        Real(w, r.TimeToFirstByteMs);
        Int(w, r.InputTokens);
        Int(w, r.OutputTokens);
        Int(w, r.CacheReadTokens);
        Int(w, r.CacheCreationTokens);
        Int(w, r.RequestBytes);
        Int(w, r.ResponseBytes);
        Str(w, r.BodySha256);
        Str(w, r.UpstreamRequestId);
        Str(w, r.UserAgent);
        if (!v2)
        {
            Str(w, r.ClientAddress);
        }
        Count(w, r.Findings.Count);
        foreach (var f in r.Findings)
        {
            Str(w, f.RuleId);
            Str(w, f.Category);
            Str(w, f.Location);
            Str(w, f.Action);
            Str(w, f.ValueHash);
        }
        WriteTool(w, r.Tool);
        if (!v2)
        {
            return;
        }
        if (r.Purge is not { } p)
        {
            Byte(w, 0);
        }
        else
        {
            Byte(w, 1);
            Str(w, p.Scope);
            Int(w, p.FromSequence);
            Int(w, p.ToSequence);
            Str(w, p.LastHash);
            Int(w, p.Records);
            Int(w, p.Before?.ToUnixTimeMilliseconds());
            Str(w, p.Subject);
        }
        if (v3)
        {
            Str(w, r.Detail);
        }
    }

    private static void WriteTool(ArrayBufferWriter<byte> w, ToolEventDetails? tool)
    {
        if (tool is not { } t)
        {
            Byte(w, 0);
            return;
        }
        Byte(w, 1);
        Str(w, t.HookEvent);
        Str(w, t.ToolName);
        Count(w, t.FilePaths.Count);
        foreach (var path in t.FilePaths)
        {
            Str(w, path);
        }
        Str(w, t.Command);
        Byte(w, t.CommandTruncated ? (byte)1 : (byte)0);
        Str(w, ToolDecisions.ToText(t.Decision));
        Str(w, t.DecisionReason);
        Real(w, t.DurationMs);
        Str(w, t.Cwd);
        Str(w, t.EventId);
    }

    private static void Str(ArrayBufferWriter<byte> w, string? value)
    {
        if (value is null)
        {
            Byte(w, 0);
            return;
        }
        Byte(w, 1);
        var length = Encoding.UTF8.GetByteCount(value);
        Count(w, length);
        var span = w.GetSpan(length);
        w.Advance(Encoding.UTF8.GetBytes(value, span));
    }

    private static void Int(ArrayBufferWriter<byte> w, long? value)
    {
        if (value is not { } v)
        {
            Byte(w, 0);
            return;
        }
        Byte(w, 1);
        WriteInt64(w, v);
    }

    private static void Real(ArrayBufferWriter<byte> w, double? value)
    {
        if (value is not { } v)
        {
            Byte(w, 0);
            return;
        }
        Byte(w, 1);
        // -0 and +0 compare equal and a store may hand back either; one spelling keeps the hash stable.
        WriteInt64(w, BitConverter.DoubleToInt64Bits(v == 0 ? 0d : v));
    }

    private static void Byte(ArrayBufferWriter<byte> w, byte value)
    {
        w.GetSpan(1)[0] = value;
        w.Advance(1);
    }

    private static void Count(ArrayBufferWriter<byte> w, int count)
    {
        BinaryPrimitives.WriteUInt32BigEndian(w.GetSpan(4), checked((uint)count));
        w.Advance(4);
    }

    private static void WriteInt64(ArrayBufferWriter<byte> w, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(w.GetSpan(8), value);
        w.Advance(8);
    }
}
