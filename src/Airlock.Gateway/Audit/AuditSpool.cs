using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Airlock.Core.Audit;

namespace Airlock.Gateway.Audit;

/// <summary>
/// A local, bounded, append-only file of audit records (one JSON object a line) that the writer fills while the
/// audit store fails (<c>audit.on_store_failure: spool</c>) and replays into the store, in order, once it is healthy
/// again. Every append is fsync'd before it is acknowledged, so a spooled record is as durable as a committed one.
/// Records in the spool are not chained yet: the store chains them when they are replayed.
/// </summary>
public sealed class AuditSpool
{
    /// <summary>File name of the spool in the data directory.</summary>
    public const string FileName = "audit-spool.jsonl";

    private readonly object _gate = new();

    /// <summary>A spool at <paramref name="path"/> holding at most <paramref name="maxBytes"/> bytes.</summary>
    public AuditSpool(string path, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        Path = path;
        MaxBytes = maxBytes;
    }

    /// <summary>The spool file.</summary>
    public string Path { get; }

    /// <summary>Largest size the spool may reach; an append that would pass it is refused.</summary>
    public long MaxBytes { get; }

    /// <summary>Bytes in the spool now.</summary>
    public long Length
    {
        get
        {
            var info = new FileInfo(Path);
            return info.Exists ? info.Length : 0;
        }
    }

    /// <summary>True when the spool holds no record.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>True once an append was refused (no room, or the spool's own disk failed) and until the spool is cleared.</summary>
    public bool Full { get; private set; }

    /// <summary>
    /// Appends <paramref name="records"/> and fsyncs them. Returns false, without writing anything, when they do not
    /// fit in <see cref="MaxBytes"/>; false as well when the file cannot be written (its disk is full too).
    /// </summary>
    public bool TryAppend(IReadOnlyList<AuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var buffer = new ArrayBufferWriter<byte>(1024 * records.Count + 1);
        using (var json = new Utf8JsonWriter(buffer))
        {
            foreach (var record in records)
            {
                AuditRecordLines.Write(buffer, json, record);
            }
        }
        lock (_gate)
        {
            var length = Length;
            if (length + buffer.WrittenCount > MaxBytes)
            {
                Full = true;
                return false;
            }
            try
            {
                using var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
                file.Write(buffer.WrittenSpan);
                file.Flush(flushToDisk: true);
                return true;
            }
            catch (IOException)
            {
                // The spool's disk is failing as well: undo a partial line so the file stays parseable, then refuse.
                TryTruncate(length);
                Full = true;
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                Full = true;
                return false;
            }
        }
    }

    /// <summary>
    /// Every record in the spool, in the order appended. A last line cut short by a crash (never acknowledged, since
    /// an append is acknowledged only after its fsync) is ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">A line other than a torn last one is not a record; names the file and line.</exception>
    public IReadOnlyList<AuditRecord> ReadAll()
    {
        lock (_gate)
        {
            if (!File.Exists(Path))
            {
                return [];
            }
            var records = new List<AuditRecord>();
            foreach (var line in AuditRecordLines.Split(File.ReadAllBytes(Path)))
            {
                if (line.Torn)
                {
                    break;
                }
                records.Add(AuditRecordLines.Parse(line.Text.Span, out var error)
                    ?? throw new InvalidDataException($"audit spool {Path}, line {line.Number}: not an audit record ({error!.Message})", error));
            }
            return records;
        }
    }

    /// <summary>Empties the spool (after its records were committed to the store) and makes it take records again.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            if (File.Exists(Path))
            {
                using var file = new FileStream(Path, FileMode.Truncate, FileAccess.Write, FileShare.Read);
                file.Flush(flushToDisk: true);
            }
            Full = false;
        }
    }

    private void TryTruncate(long length)
    {
        try
        {
            using var file = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.Read);
            file.SetLength(length);
        }
        catch (IOException)
        {
            // ReadAll ignores a torn last line; a torn line followed by later appends is reported there.
        }
    }

    /// <summary>For messages: the spool's size in a readable form.</summary>
    public override string ToString() => new StringBuilder().Append(Path).Append(" (").Append(Length).Append(" of ").Append(MaxBytes).Append(" bytes)").ToString();
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditRecord))]
internal sealed partial class SpoolJsonContext : JsonSerializerContext;
