namespace Airlock.Testing;

/// <summary>
/// What a scripted server remembers, safe across Kestrel's request threads: the calls it received, the exceptions its
/// script threw, and the queue of replies for the next calls.
/// </summary>
/// <typeparam name="TCall">What one call records.</typeparam>
public sealed class ScriptLog<TCall>
{
    private readonly Lock _gate = new();
    private readonly List<TCall> _calls = [];
    private readonly List<Exception> _failures = [];
    private readonly Queue<UpstreamReply> _replies = new();

    /// <summary>Every call so far, in arrival order.</summary>
    public IReadOnlyList<TCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Exceptions thrown while answering (a broken script).</summary>
    public IReadOnlyList<Exception> Failures
    {
        get
        {
            lock (_gate)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>Replies still queued.</summary>
    public int QueuedReplies
    {
        get
        {
            lock (_gate)
            {
                return _replies.Count;
            }
        }
    }

    /// <summary>Remembers a call.</summary>
    public TCall Add(TCall call)
    {
        lock (_gate)
        {
            _calls.Add(call);
        }
        return call;
    }

    /// <summary>Remembers a script failure.</summary>
    public void Fail(Exception exception)
    {
        lock (_gate)
        {
            _failures.Add(exception);
        }
    }

    /// <summary>Queues replies for the next calls, in order.</summary>
    public void Enqueue(params UpstreamReply[] replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        lock (_gate)
        {
            foreach (var reply in replies)
            {
                _replies.Enqueue(reply);
            }
        }
    }

    /// <summary>The next queued reply, or <paramref name="fallback"/> when none is queued.</summary>
    public UpstreamReply Next(UpstreamReply fallback)
    {
        lock (_gate)
        {
            return _replies.TryDequeue(out var queued) ? queued : fallback;
        }
    }

    /// <summary>Forgets the calls recorded so far (the queue stays).</summary>
    public void ClearCalls()
    {
        lock (_gate)
        {
            _calls.Clear();
        }
    }
}
