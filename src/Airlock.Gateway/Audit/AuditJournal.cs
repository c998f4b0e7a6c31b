using System.Buffers;
using System.Text.Json;
using Airlock.Core.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Airlock.Gateway.Audit;

/// <summary>
/// The audit journal (<c>audit.durable: journal</c>): a write-ahead log of intent that takes the store's commit off the
/// answer's critical path without weakening what "durable" promises. Once a request's upstream send has started, the pipeline hands
/// its record as it stands (outcome <c>interrupted</c>) to <see cref="Begin"/>; a dedicated thread writes and fsyncs such
/// begin entries in groups (one <c>write</c> and one fsync a batch) while the upstream works. When the exchange ends,
/// the final record is appended with a plain write (<see cref="TryWriteFinal"/>: in the page cache, so it survives a
/// process crash; the next batch's fsync makes it durable) and queued to the store through the writer's group commit.
/// The answer's last bytes wait only for the begin entry's fsync, normally long done.
/// <para>
/// An entry is settled once its request's final record is committed to the store or fsync'd to the spool
/// (<see cref="JournalTicket.Settle"/>). The journal is a sequence of segments of about <see cref="SegmentBytes"/>; a
/// segment that is no longer written to is deleted once every request with an entry in it is settled, so the journal
/// stays as small as the records in flight. <see cref="RecoverAsync"/> puts what a crash left behind into the store.
/// </para>
/// Entries are one line each: <c>b</c> (begin) or <c>f</c> (final) followed by the record's JSON as the spool writes it
/// (no chain link): nothing beyond what an audit row holds. Files are created with mode 0600.
/// </summary>
public sealed partial class AuditJournal : IDisposable
{
    /// <summary>Directory of the journal in the data directory.</summary>
    public const string DirectoryName = "audit-journal";

    /// <summary>Default size at which a segment is closed and a new one started.</summary>
    public const long DefaultSegmentBytes = 8L * 1024 * 1024;

    /// <summary>Error type of a record recovered from a begin entry alone.</summary>
    public const string GatewayStopped = "gateway_stopped";

    private const byte BeginTag = (byte)'b';
    private const byte FinalTag = (byte)'f';
    private const string SegmentPrefix = "journal-";
    private const string SegmentSuffix = ".jsonl";

    // Segments are filled with zeros ahead of the entries (and that synced) so that an entry's fdatasync writes data
    // blocks only: a write that grows a file also needs the file system's journal to commit the new size, which on a
    // virtual disk costs a second flush and several context switches per sync. Recovery skips the zeros.
    private const long ExtendBytes = 1024 * 1024;

    private readonly object _gate = new();
    private readonly object _queueGate = new();
    private readonly ManualResetEventSlim _signal = new(false, 0);
    private readonly Action<SafeFileHandle> _flushToDisk;
    private readonly long _extendBytes;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private List<JournalTicket> _queue = new(64);
    private Segment _current;
    private long _nextSegment;
    private volatile bool _stopping;
    private volatile bool _failed;
    private long _segmentsDeleted;

    /// <summary>
    /// Opens a journal in <paramref name="directory"/> (created 0700 if missing). Run <see cref="RecoverAsync"/> first:
    /// segments left by an earlier run are not read here (new ones are numbered after them).
    /// </summary>
    /// <param name="directory">Journal directory.</param>
    /// <param name="logger">For I/O failures (never content).</param>
    /// <param name="segmentBytes">Size at which a segment is closed.</param>
    /// <param name="flushToDisk">How a segment is made durable (tests replace it to hold the fsync).</param>
    public AuditJournal(string directory, ILogger logger, long segmentBytes = DefaultSegmentBytes, Action<SafeFileHandle>? flushToDisk = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentBytes, 1024);
        Directory = directory;
        SegmentBytes = segmentBytes;
        _logger = logger;
        _flushToDisk = flushToDisk ?? DataSync;
        _extendBytes = Math.Min(ExtendBytes, segmentBytes);
        CreateDirectory(directory);
        _nextSegment = SegmentFiles(directory).Select(f => f.Number).DefaultIfEmpty(0).Max() + 1;
        _current = OpenSegment();
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "airlock-audit-journal" };
        _thread.Start();
    }

    /// <summary>The journal's directory.</summary>
    public string Directory { get; }

    /// <summary>Size at which a segment is closed and a new one started.</summary>
    public long SegmentBytes { get; }

    /// <summary>False once a write or fsync failed: <see cref="Begin"/> then returns null and callers wait for the store.</summary>
    public bool Healthy => !_failed;

    /// <summary>Segments deleted so far (all their requests settled).</summary>
    public long SegmentsDeleted => Interlocked.Read(ref _segmentsDeleted);

    /// <summary>Bytes the journal's segments hold on disk now.</summary>
    public long BytesOnDisk => SegmentFiles(Directory).Sum(f => new FileInfo(f.Path).Length);

    /// <summary>
    /// Queues <paramref name="begin"/> (the request's record as it stands, outcome <c>interrupted</c>) to be written and
    /// fsync'd in the background. Returns the request's ticket, or null when the journal has failed.
    /// </summary>
    public JournalTicket? Begin(AuditRecord begin)
    {
        ArgumentNullException.ThrowIfNull(begin);
        if (_failed || _stopping)
        {
            return null;
        }
        var ticket = new JournalTicket(this, begin);
        lock (_queueGate)
        {
            // Checked under the gate: the writer thread leaves only after it found the queue empty while stopping.
            if (_stopping)
            {
                return null;
            }
            _queue.Add(ticket);
            // Under the gate: Dispose marks stopping under it before it disposes the signal.
            _signal.Set();
        }
        return ticket;
    }

    /// <summary>
    /// Appends the request's final record with a plain write (no fsync): it survives a process crash from here on, and
    /// the next batch's fsync (or the segment's closing) makes it durable. False when the journal cannot be written.
    /// </summary>
    public bool TryWriteFinal(JournalTicket ticket, AuditRecord final)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        ArgumentNullException.ThrowIfNull(final);
        if (_failed)
        {
            return false;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(final with { Chain = null }, SpoolJsonContext.Default.AuditRecord);
        var line = new byte[json.Length + 2];
        line[0] = FinalTag;
        json.CopyTo(line.AsSpan(1));
        line[^1] = (byte)'\n';
        try
        {
            lock (_gate)
            {
                var segment = _current;
                if (segment.Handle.IsClosed)
                {
                    return false; // stopped
                }
                RandomAccess.Write(segment.Handle, line, segment.Length);
                segment.Length += line.Length;
                Interlocked.Increment(ref segment.Pending);
                ticket.FinalSegment = segment;
            }
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Fail(ex);
            return false;
        }
    }

    private void WriteLoop()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using var json = new Utf8JsonWriter(buffer);
        var batch = new List<JournalTicket>(64);
        while (true)
        {
            if (!_stopping)
            {
                _signal.Wait();
            }
            _signal.Reset();
            lock (_queueGate)
            {
                (batch, _queue) = (_queue, batch);
                if (batch.Count == 0 && _stopping)
                {
                    return;
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            try
            {
                if (_failed)
                {
                    throw new IOException("the audit journal failed earlier");
                }
                buffer.ResetWrittenCount();
                foreach (var ticket in batch)
                {
                    buffer.GetSpan(1)[0] = BeginTag;
                    buffer.Advance(1);
                    json.Reset(buffer);
                    JsonSerializer.Serialize(json, ticket.BeginRecord with { Chain = null }, SpoolJsonContext.Default.AuditRecord);
                    json.Flush();
                    buffer.GetSpan(1)[0] = (byte)'\n';
                    buffer.Advance(1);
                }
                if (_current.Length >= SegmentBytes)
                {
                    Rotate();
                }
                Segment segment;
                lock (_gate)
                {
                    segment = _current;
                    RandomAccess.Write(segment.Handle, buffer.WrittenSpan, segment.Length);
                    segment.Length += buffer.WrittenCount;
                    Interlocked.Add(ref segment.Pending, batch.Count);
                    foreach (var ticket in batch)
                    {
                        ticket.BeginSegment = segment;
                    }
                }
                // Outside the gate: finals keep being written while the disk syncs (this fsync covers those written so far).
                _flushToDisk(segment.Handle);
                foreach (var ticket in batch)
                {
                    ticket.MarkDurable();
                }
                if (segment.Allocated - Volatile.Read(ref segment.Length) < _extendBytes / 4)
                {
                    // After the batch was acknowledged: the zeros' sync delays only entries arriving meanwhile.
                    Extend(segment);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Fail(ex);
                foreach (var ticket in batch)
                {
                    ticket.MarkFailed(ex);
                }
            }
            batch.Clear();
        }
    }

    /// <summary>Writes (and syncs) the next stretch of zeros after what <paramref name="segment"/> holds.</summary>
    private void Extend(Segment segment)
    {
        var zeros = new byte[_extendBytes];
        lock (_gate)
        {
            if (segment.Handle.IsClosed)
            {
                return;
            }
            // Under the gate: finals write at Length, which may have passed Allocated; the zeros go after them.
            var start = Math.Max(segment.Allocated, segment.Length);
            RandomAccess.Write(segment.Handle, zeros, start);
            segment.Allocated = start + zeros.Length;
        }
        _flushToDisk(segment.Handle);
    }

    /// <summary>Closes the current segment (fsync'd, so its final entries are durable too) and starts the next one.</summary>
    private void Rotate()
    {
        var next = OpenSegment(); // zero-filled and synced before it takes entries
        Segment old;
        lock (_gate)
        {
            old = _current;
            _current = next;
        }
        Close(old);
    }

    private void Close(Segment segment)
    {
        lock (_gate)
        {
            if (segment.Handle.IsClosed)
            {
                return;
            }
            try
            {
                _flushToDisk(segment.Handle);
            }
            finally
            {
                segment.Stream.Dispose();
                segment.Closed = true;
            }
        }
        Interlocked.MemoryBarrier();
        TryDelete(segment);
    }

    /// <summary>A request with an entry in <paramref name="segment"/> was settled; a closed segment with none left goes.</summary>
    internal void Release(Segment? segment)
    {
        if (segment is not null && Interlocked.Decrement(ref segment.Pending) == 0 && segment.Closed)
        {
            TryDelete(segment);
        }
    }

    private void TryDelete(Segment segment)
    {
        lock (segment)
        {
            if (segment.Deleted || !segment.Closed || Volatile.Read(ref segment.Pending) != 0)
            {
                return;
            }
            segment.Deleted = true;
        }
        try
        {
            File.Delete(segment.Path);
            Interlocked.Increment(ref _segmentsDeleted);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next start's recovery, which skips what the store already holds.
            LogDeleteFailed(_logger, segment.Path, ex.GetType().Name);
        }
    }

    private Segment OpenSegment()
    {
        var path = Path.Combine(Directory, $"{SegmentPrefix}{_nextSegment++:D10}{SegmentSuffix}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        // The stream creates the file with the right mode and owns the handle (kept alive with the segment: a collected
        // stream would close it); writes go through the handle at explicit offsets.
        var stream = new FileStream(path, options);
        var segment = new Segment(path, stream);
        Extend(segment);
        return segment;
    }

    /// <summary>fdatasync(2): the segment's data (and its size only if it changed); other platforms flush the whole file.</summary>
    private static void DataSync(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                if (FDataSync((int)handle.DangerousGetHandle()) != 0)
                {
                    throw new IOException($"fdatasync failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    private void Fail(Exception ex)
    {
        if (!_failed)
        {
            _failed = true;
            LogJournalFailed(_logger, ex.GetType().Name);
        }
    }

    /// <summary>
    /// Stops the writer thread after the queued begin entries are written, and closes the current segment (fsync'd).
    /// Segments whose requests are all settled are deleted; the rest wait for the next start's recovery.
    /// </summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }
        lock (_queueGate)
        {
            _stopping = true;
        }
        _signal.Set();
        _thread.Join();
        try
        {
            Close(_current);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(ex);
        }
        _signal.Dispose();
    }

    private static void CreateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static IEnumerable<(string Path, long Number)> SegmentFiles(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            yield break;
        }
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, SegmentPrefix + "*" + SegmentSuffix))
        {
            var name = System.IO.Path.GetFileName(path);
            if (long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length), out var number))
            {
                yield return (path, number);
            }
        }
    }

    /// <summary>
    /// Startup recovery (before serving): reads the segments an earlier run left, takes per request its final record if
    /// one was written, else its begin record (outcome <c>interrupted</c>, error type <c>gateway_stopped</c>), appends to
    /// the store (chained as usual) those whose request id neither the store nor <paramref name="spool"/> holds, then
    /// deletes the segments. When the store refuses them they go to the spool if <paramref name="spoolOnFailure"/>;
    /// otherwise the segments stay for the next start. Logs counts only.
    /// </summary>
    public static async Task<JournalRecovery> RecoverAsync(string directory, IAuditStore store, AuditSpool? spool, bool spoolOnFailure,
        ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logger);
        var segments = SegmentFiles(directory).OrderBy(f => f.Number).ToList();
        if (segments.Count == 0)
        {
            return new JournalRecovery(0, 0, 0, 0, 0);
        }
        var byId = new Dictionary<string, AuditRecord>(StringComparer.Ordinal);
        var order = new List<string>();
        var unreadable = 0;
        foreach (var (path, _) in segments)
        {
            unreadable += ReadSegment(path, byId, order);
        }
        var present = new HashSet<string>(StringComparer.Ordinal);
        if (spool is not null)
        {
            try
            {
                present.UnionWith(spool.ReadAll().Select(r => r.RequestId));
            }
            catch (InvalidDataException ex)
            {
                // The spool's ids are unknown, so any record recovered now could be added a second time once the spool is
                // repaired and replayed: the segments wait for a start with a readable spool.
                LogRecoveryFailed(logger, order.Count, ex.GetType().Name, directory);
                return new JournalRecovery(segments.Count, byId.Count, 0, 0, unreadable);
            }
        }
        var candidates = order.Where(id => !present.Contains(id)).ToList();
        var recovered = new List<AuditRecord>();
        try
        {
            if (candidates.Count > 0)
            {
                var since = candidates.Min(id => byId[id].Time);
                present.UnionWith(await store.FindRequestIdsAsync(candidates, since, cancellationToken).ConfigureAwait(false));
                recovered.AddRange(candidates.Where(id => !present.Contains(id)).Select(id => byId[id]));
            }
            if (recovered.Count > 0)
            {
                // Records an earlier run spooled are older: they are replayed first, so the recovered ones queue behind them.
                if (spool is { IsEmpty: false })
                {
                    if (!spool.TryAppend(recovered))
                    {
                        throw new IOException("audit spool refused the recovered records");
                    }
                }
                else
                {
                    await store.AppendAsync(recovered, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
        {
            // Spooled only when the store said which records it lacks (else the spool's replay could add some twice).
            if (recovered.Count == 0 || !spoolOnFailure || spool is null || !spool.TryAppend(recovered))
            {
                LogRecoveryFailed(logger, candidates.Count, ex.GetType().Name, directory);
                return new JournalRecovery(segments.Count, byId.Count, 0, 0, unreadable);
            }
        }
        var interrupted = recovered.Count(r => r.Outcome == AuditOutcome.Interrupted);
        foreach (var (path, _) in segments)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // What it held is stored now: the next start finds those ids in the store and skips them.
                LogDeleteFailed(logger, path, ex.GetType().Name);
            }
        }
        var result = new JournalRecovery(segments.Count, byId.Count, recovered.Count, interrupted, unreadable);
        LogRecovered(logger, result.Segments, result.Requests, result.Recovered - result.Interrupted, result.Interrupted, result.Requests - result.Recovered, result.UnreadableLines);
        return result;
    }

    /// <summary>Reads one segment's entries into <paramref name="byId"/> (a final entry wins over a begin). Returns lines that were not entries.</summary>
    private static int ReadSegment(string path, Dictionary<string, AuditRecord> byId, List<string> order)
    {
        var bytes = File.ReadAllBytes(path);
        var unreadable = 0;
        var start = 0;
        while (start < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
            {
                // A torn tail (never acknowledged: a begin is acknowledged after its fsync, a final only when written whole).
                unreadable += bytes.AsSpan(start).IndexOfAnyExcept((byte)0) >= 0 ? 1 : 0;
                break;
            }
            var line = bytes.AsSpan(start, end - start);
            start = end + 1;
            // After a power loss, what followed the last fsync may be lost or zeros: such lines are skipped, not fatal.
            if (line.Length < 3 || (line[0] != BeginTag && line[0] != FinalTag))
            {
                unreadable += line.IndexOfAnyExcept((byte)0) >= 0 ? 1 : 0;
                continue;
            }
            AuditRecord? record;
            try
            {
                record = JsonSerializer.Deserialize(line[1..], SpoolJsonContext.Default.AuditRecord);
            }
            catch (JsonException)
            {
                record = null;
            }
            if (record is null)
            {
                unreadable++;
                continue;
            }
            if (!byId.TryGetValue(record.RequestId, out var known))
            {
                order.Add(record.RequestId);
            }
            if (known is null || line[0] == FinalTag)
            {
                byId[record.RequestId] = record;
            }
        }
        return unreadable;
    }

    /// <summary>One journal file.</summary>
    internal sealed class Segment(string path, FileStream stream)
    {
        public string Path { get; } = path;

        public FileStream Stream { get; } = stream;

        public SafeFileHandle Handle { get; } = stream.SafeFileHandle;

        /// <summary>Bytes written (the next entry's offset); changed under the journal's gate.</summary>
        public long Length;

        /// <summary>Bytes filled with zeros (and synced) ahead of the entries; changed under the journal's gate.</summary>
        public long Allocated;

        /// <summary>Entries of requests not settled yet.</summary>
        public int Pending;

        public volatile bool Closed;

        public bool Deleted;
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Audit journal failed ({ErrorType}); answers now wait for the store's commit")]
    private static partial void LogJournalFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Audit journal segment {Path} could not be deleted ({ErrorType}); the next start's recovery handles it")]
    private static partial void LogDeleteFailed(ILogger logger, string path, string errorType);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Audit journal recovered: {Segments} segment(s), {Requests} request(s); {Final} final record(s) and {Interrupted} interrupted record(s) added to the trail, {Present} already recorded; {Unreadable} unreadable line(s) skipped")]
    private static partial void LogRecovered(ILogger logger, int segments, int requests, int final, int interrupted, int present, int unreadable);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Error, Message = "Audit journal recovery could not write {Count} record(s) to the store ({ErrorType}); the segments in {Directory} are kept for the next start")]
    private static partial void LogRecoveryFailed(ILogger logger, int count, string errorType, string directory);
}

/// <summary>What <see cref="AuditJournal.RecoverAsync"/> found and did.</summary>
/// <param name="Segments">Segments read.</param>
/// <param name="Requests">Distinct requests with entries in them.</param>
/// <param name="Recovered">Records added to the trail (or spooled).</param>
/// <param name="Interrupted">Of those, records recovered from a begin entry alone (outcome <c>interrupted</c>).</param>
/// <param name="UnreadableLines">Lines that were not entries (a power loss's torn tail).</param>
public sealed record JournalRecovery(int Segments, int Requests, int Recovered, int Interrupted, int UnreadableLines);

/// <summary>
/// One request's place in the <see cref="AuditJournal"/>: its begin entry (durable once <see cref="Durable"/> completes),
/// its final entry, and the settlement that lets their segments go.
/// </summary>
public sealed class JournalTicket
{
    private readonly AuditJournal _journal;
    private readonly TaskCompletionSource _durable = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _settled;

    internal JournalTicket(AuditJournal journal, AuditRecord begin)
    {
        _journal = journal;
        BeginRecord = begin;
    }

    internal AuditRecord BeginRecord { get; }

    internal AuditJournal.Segment? BeginSegment { get; set; }

    internal AuditJournal.Segment? FinalSegment { get; set; }

    /// <summary>Completes when the begin entry is on disk; faults when the journal could not write it.</summary>
    public Task Durable => _durable.Task;

    internal void MarkDurable() => _durable.TrySetResult();

    internal void MarkFailed(Exception ex) => _durable.TrySetException(new IOException("the audit journal could not write the begin entry", ex));

    /// <summary>
    /// The request's final record is committed to the store (or fsync'd to the spool): its entries are no longer needed.
    /// Waits for the begin entry's write if it is still queued (its segment is known only then). Idempotent.
    /// </summary>
    public void Settle()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return;
        }
        if (_durable.Task.IsCompleted)
        {
            ReleaseSegments();
        }
        else
        {
            _durable.Task.ContinueWith(static (_, state) => ((JournalTicket)state!).ReleaseSegments(), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void ReleaseSegments()
    {
        _journal.Release(BeginSegment);
        _journal.Release(FinalSegment);
    }
}
