using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Airlock.Core.Audit;

/// <summary>A record's place in the hash chain.</summary>
/// <param name="Sequence">Position in the trail, from 1, increasing by one per record.</param>
/// <param name="PreviousHash">Lowercase hex SHA-256 of the record before (64 zeros for the first record).</param>
/// <param name="Hash">Lowercase hex SHA-256 of this record's canonical encoding, which includes <paramref name="PreviousHash"/>.</param>
public sealed record AuditChainLink(long Sequence, string PreviousHash, string Hash);

/// <summary>The last record of the chain: where the next record attaches.</summary>
/// <param name="Sequence">Sequence of the last record (0 for an empty trail).</param>
/// <param name="Hash">Its hash (32 zero bytes for an empty trail).</param>
public readonly record struct AuditChainHead(long Sequence, ReadOnlyMemory<byte> Hash)
{
    /// <summary>The head of an empty trail.</summary>
    public static AuditChainHead Genesis { get; } = new(0, new byte[AuditCanonicalEncoding.HashSize]);

    /// <summary>
    /// Attaches <paramref name="record"/> after this head: returns the record (texts cleaned by
    /// <see cref="AuditRecordText.Clean(AuditRecord)"/>) with its chain link, and the new head.
    /// </summary>
    public (AuditRecord Record, AuditChainHead Head) Append(AuditRecord record)
    {
        record = AuditRecordText.Clean(record);
        var sequence = Sequence + 1;
        var hash = AuditCanonicalEncoding.Hash(record, sequence, Hash.Span);
        var link = new AuditChainLink(sequence, Convert.ToHexStringLower(Hash.Span), Convert.ToHexStringLower(hash));
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
/// A new field means a new version: records keep the version they were hashed with.
/// </summary>
public static class AuditCanonicalEncoding
{
    /// <summary>Current encoding version.</summary>
    public const byte Version = 1;

    /// <summary>Size of a chain hash (SHA-256).</summary>
    public const int HashSize = 32;

    private static readonly byte[] Magic = "AIRLOCK-AUDIT-RECORD"u8.ToArray();

    /// <summary>The canonical bytes of <paramref name="record"/> at <paramref name="sequence"/> after <paramref name="previousHash"/>.</summary>
    public static byte[] Encode(AuditRecord record, long sequence, ReadOnlySpan<byte> previousHash)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(buffer, record, sequence, previousHash);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>SHA-256 of the canonical bytes: the record's chain hash.</summary>
    public static byte[] Hash(AuditRecord record, long sequence, ReadOnlySpan<byte> previousHash)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(buffer, record, sequence, previousHash);
        return SHA256.HashData(buffer.WrittenSpan);
    }

    private static void Write(ArrayBufferWriter<byte> w, AuditRecord r, long sequence, ReadOnlySpan<byte> previousHash)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (previousHash.Length != HashSize)
        {
            throw new ArgumentException($"previous hash must be {HashSize} bytes", nameof(previousHash));
        }
        w.Write(Magic);
        Byte(w, Version);
        WriteInt64(w, sequence);
        w.Write(previousHash);
        Str(w, AuditKinds.ToText(r.Kind));
        Str(w, r.RequestId);
        Int(w, r.Time.ToUnixTimeMilliseconds());
        Str(w, r.Door);
        Str(w, r.Operation);
        Str(w, r.KeyId);
        Str(w, r.User);
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
        Str(w, r.ClientAddress);
        Count(w, r.Findings.Count);
        foreach (var f in r.Findings)
        {
            Str(w, f.RuleId);
            Str(w, f.Category);
            Str(w, f.Location);
            Str(w, f.Action);
            Str(w, f.ValueHash);
        }
        if (r.Tool is not { } t)
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
