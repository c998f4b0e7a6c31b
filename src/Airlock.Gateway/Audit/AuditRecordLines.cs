using System.Buffers;
using System.Text.Json;
using Airlock.Core.Audit;

namespace Airlock.Gateway.Audit;

/// <summary>
/// The line format the audit spool and the audit journal share: one record a line, as JSON without its chain link (the
/// store chains records when they reach it), optionally after a one-byte tag (the journal's <c>b</c> or <c>f</c>).
/// Nothing beyond what an audit row holds.
/// </summary>
internal static class AuditRecordLines
{
    /// <summary>No tag: the line is the record's JSON alone (the spool).</summary>
    public const byte NoTag = 0;

    /// <summary>Appends one line for <paramref name="record"/> to <paramref name="buffer"/>, through <paramref name="json"/> (reset here).</summary>
    public static void Write(ArrayBufferWriter<byte> buffer, Utf8JsonWriter json, AuditRecord record, byte tag = NoTag)
    {
        if (tag != NoTag)
        {
            buffer.GetSpan(1)[0] = tag;
            buffer.Advance(1);
        }
        json.Reset(buffer);
        JsonSerializer.Serialize(json, record with { Chain = null }, SpoolJsonContext.Default.AuditRecord);
        json.Flush();
        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
    }

    /// <summary>One line for <paramref name="record"/>, as a new array.</summary>
    public static byte[] Encode(AuditRecord record, byte tag = NoTag)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(buffer);
        Write(buffer, json, record, tag);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The lines of <paramref name="bytes"/>, numbered from 1. A last line without its newline (a crash cut the append
    /// short: never acknowledged) comes last with <see cref="RecordLine.Torn"/> set.
    /// </summary>
    public static IEnumerable<RecordLine> Split(byte[] bytes)
    {
        var start = 0;
        var number = 0;
        while (start < bytes.Length)
        {
            number++;
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
            {
                yield return new RecordLine(number, bytes.AsMemory(start), Torn: true);
                yield break;
            }
            yield return new RecordLine(number, bytes.AsMemory(start, end - start), Torn: false);
            start = end + 1;
        }
    }

    /// <summary>Parses a line's JSON (after its tag, if any). Null with <paramref name="error"/> set when it is not a record.</summary>
    public static AuditRecord? Parse(ReadOnlySpan<byte> json, out JsonException? error)
    {
        try
        {
            error = null;
            return JsonSerializer.Deserialize(json, SpoolJsonContext.Default.AuditRecord) ?? throw new JsonException("null record");
        }
        catch (JsonException ex)
        {
            error = ex;
            return null;
        }
    }
}

/// <summary>One line of a spool or journal file.</summary>
/// <param name="Number">Line number, from 1.</param>
/// <param name="Text">The line without its newline.</param>
/// <param name="Torn">True for a last line that has no newline (an append a crash cut short).</param>
internal readonly record struct RecordLine(int Number, ReadOnlyMemory<byte> Text, bool Torn);
