using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Gateway.Admin;

namespace Airlock.Gateway.Siem;

/// <summary>
/// A sink's overflow on disk: records as JSON lines appended at the end and read from a cursor at the front. When
/// the reader catches up with the writer the file is emptied. A file left by a previous run is replayed from its
/// start (delivery is at least once: a batch in flight at a crash may arrive twice; receivers deduplicate by
/// <c>request_id</c>). Not thread-safe: <see cref="SiemSinkDelivery"/> serializes access.
/// </summary>
public sealed class SiemSpillFile : IDisposable
{
    private readonly FileStream _file;
    private readonly long _maxBytes;
    private long _readOffset;

    /// <summary>Opens (creating if needed) the spill file at <paramref name="path"/>, bounded to <paramref name="maxBytes"/>.</summary>
    public SiemSpillFile(string path, long maxBytes)
    {
        Path = path;
        _maxBytes = maxBytes;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 1);
    }

    /// <summary>Where the file is.</summary>
    public string Path { get; }

    /// <summary>Bytes on disk (delivered ones included until the file is emptied).</summary>
    public long Length => _file.Length;

    /// <summary>True when every spilled record has been read and acknowledged.</summary>
    public bool IsDrained => _readOffset >= _file.Length;

    /// <summary>Records spilled and not yet acknowledged (counted by lines; for status only).</summary>
    public long Pending { get; private set; }

    /// <summary>Corrupt lines skipped while reading (a line cut short by a crash).</summary>
    public long Corrupt { get; private set; }

    /// <summary>Appends <paramref name="record"/>; false when that would pass the size bound.</summary>
    public bool TryAppend(AuditRecord record)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(record, AdminJsonContext.Default.AuditRecord);
        if (_file.Length + line.Length + 1 > _maxBytes)
        {
            return false;
        }
        _file.Seek(0, SeekOrigin.End);
        _file.Write(line);
        _file.WriteByte((byte)'\n');
        Pending++;
        return true;
    }

    /// <summary>Reads up to <paramref name="max"/> records from the cursor without moving it; <paramref name="end"/> is where the cursor goes once they are delivered.</summary>
    public List<AuditRecord> Peek(int max, out long end)
    {
        var records = new List<AuditRecord>();
        end = _readOffset;
        var remaining = _file.Length - _readOffset;
        if (remaining <= 0)
        {
            return records;
        }
        var buffer = new byte[(int)Math.Min(remaining, 4L * 1024 * 1024)];
        _file.Seek(_readOffset, SeekOrigin.Begin);
        _file.ReadExactly(buffer);
        var start = 0;
        while (records.Count < max)
        {
            var newline = Array.IndexOf(buffer, (byte)'\n', start);
            if (newline < 0)
            {
                if (start == 0 && buffer.Length == remaining)
                {
                    // A last line without its newline: cut short by a crash mid-append. Skip it.
                    Corrupt++;
                    end = _file.Length;
                }
                break;
            }
            try
            {
                if (JsonSerializer.Deserialize(buffer.AsSpan(start, newline - start), AdminJsonContext.Default.AuditRecord) is { } record)
                {
                    records.Add(record);
                }
            }
            catch (JsonException)
            {
                Corrupt++;
            }
            start = newline + 1;
            end = _readOffset + start;
        }
        return records;
    }

    /// <summary>Moves the cursor past delivered records; empties the file once everything is delivered.</summary>
    public void Acknowledge(long end, int count)
    {
        _readOffset = end;
        Pending = Math.Max(0, Pending - count);
        if (_readOffset >= _file.Length)
        {
            _file.SetLength(0);
            _readOffset = 0;
            Pending = 0;
        }
    }

    /// <summary>Counts the records of a file left by a previous run (they are replayed first).</summary>
    public void CountExisting()
    {
        if (_file.Length == 0)
        {
            return;
        }
        _file.Seek(0, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = _file.Read(buffer)) > 0)
        {
            Pending += buffer.AsSpan(0, read).Count((byte)'\n');
        }
    }

    /// <summary>Forces appended records to the disk.</summary>
    public void Flush() => _file.Flush(flushToDisk: true);

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
