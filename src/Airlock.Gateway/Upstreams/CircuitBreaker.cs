using Airlock.Core.Configuration;

namespace Airlock.Gateway.Upstreams;

/// <summary>State of an upstream's circuit.</summary>
public enum CircuitState
{
    /// <summary>Requests flow.</summary>
    Closed,

    /// <summary>Too many failures: requests skip this upstream until the break ends.</summary>
    Open,

    /// <summary>The break ended: one probe request is let through to decide.</summary>
    HalfOpen,
}

/// <summary>How one attempt on an upstream bears on its health.</summary>
public enum AttemptOutcome
{
    /// <summary>The upstream answered (any status that is not throttling or a server failure).</summary>
    Success,

    /// <summary>Connect failure, timeout, refused connection, 408/429/5xx.</summary>
    Failure,

    /// <summary>Says nothing about the upstream (missing credential, unsupported operation).</summary>
    Neutral,
}

/// <summary>What <c>/health/upstreams</c> and the logs show of one upstream.</summary>
public sealed record UpstreamHealth(
    string Name, string Kind, CircuitState State, int ConsecutiveFailures, int WindowCalls, int WindowFailures,
    DateTimeOffset? OpenedAt, DateTimeOffset? RetryAt, string? LastFailure);

/// <summary>
/// Per-upstream circuit breaker. Opens after <see cref="CircuitBreakerConfig.ConsecutiveFailures"/> failures in a row,
/// or when the failure ratio over the sliding window reaches <see cref="CircuitBreakerConfig.FailureRatio"/> with at
/// least <see cref="CircuitBreakerConfig.MinimumCalls"/> calls; while open, failover skips the upstream at once
/// instead of paying its connect timeout. After the break one probe goes through (half-open): success closes the
/// circuit, failure reopens it. A probe that never reports (its client left) is replaced after another break.
/// The window is ten buckets, so the ratio costs neither memory per call nor a timer.
/// </summary>
public sealed class CircuitBreaker
{
    private const int Buckets = 10;
    private readonly object _gate = new();
    private readonly CircuitBreakerConfig _config;
    private readonly TimeProvider _time;
    private readonly (long Start, int Calls, int Failures)[] _window = new (long, int, int)[Buckets];
    private readonly long _bucketTicks;
    private CircuitState _state;
    private int _consecutive;
    private DateTimeOffset? _openedAt;
    private DateTimeOffset _retryAt;
    private DateTimeOffset _probeStartedAt;
    private string? _lastFailure;

    /// <summary>Creates a closed breaker.</summary>
    public CircuitBreaker(string upstream, CircuitBreakerConfig config, TimeProvider time)
    {
        Upstream = upstream;
        _config = config;
        _time = time;
        _bucketTicks = Math.Max(1, config.Window.Ticks / Buckets);
    }

    /// <summary>The upstream this breaker guards.</summary>
    public string Upstream { get; }

    /// <summary>Raised on every state change (from, to, reason), for logs.</summary>
    public event Action<CircuitBreaker, CircuitState, CircuitState, string>? StateChanged;

    /// <summary>The current state.</summary>
    public CircuitState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>When an open circuit lets a probe through.</summary>
    public DateTimeOffset RetryAt
    {
        get
        {
            lock (_gate)
            {
                return _retryAt;
            }
        }
    }

    /// <summary>True when a request may try the upstream now (closed, or the half-open probe slot was free).</summary>
    public bool TryAcquire()
    {
        if (!_config.Enabled)
        {
            return true;
        }
        (CircuitState From, CircuitState To)? change = null;
        bool allowed;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            switch (_state)
            {
                case CircuitState.Closed:
                    allowed = true;
                    break;
                case CircuitState.Open when now >= _retryAt:
                    _state = CircuitState.HalfOpen;
                    _probeStartedAt = now;
                    change = (CircuitState.Open, CircuitState.HalfOpen);
                    allowed = true;
                    break;
                case CircuitState.HalfOpen when now - _probeStartedAt >= _config.BreakDuration:
                    _probeStartedAt = now; // the previous probe never reported
                    allowed = true;
                    break;
                default:
                    allowed = false;
                    break;
            }
        }
        if (change is { } c)
        {
            StateChanged?.Invoke(this, c.From, c.To, "break over, probing");
        }
        return allowed;
    }

    /// <summary>Records how an attempt went.</summary>
    public void Record(AttemptOutcome outcome, string? reason = null)
    {
        if (!_config.Enabled || outcome == AttemptOutcome.Neutral)
        {
            return;
        }
        (CircuitState From, CircuitState To, string Why)? change = null;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var bucket = CurrentBucket(now);
            _window[bucket].Calls++;
            if (outcome == AttemptOutcome.Success)
            {
                _consecutive = 0;
                if (_state != CircuitState.Closed)
                {
                    change = (_state, CircuitState.Closed, "probe succeeded");
                    _state = CircuitState.Closed;
                    _openedAt = null;
                    Array.Clear(_window);
                }
            }
            else
            {
                _window[bucket].Failures++;
                _consecutive++;
                _lastFailure = reason;
                var (calls, failures) = WindowTotals(now);
                string? why = _state == CircuitState.HalfOpen ? "probe failed"
                    : _state == CircuitState.Closed && _consecutive >= _config.ConsecutiveFailures ? $"{_consecutive} failures in a row"
                    : _state == CircuitState.Closed && calls >= _config.MinimumCalls && failures >= _config.FailureRatio * calls ? $"{failures} of {calls} calls failed"
                    : null;
                if (why is not null)
                {
                    change = (_state, CircuitState.Open, why + (reason is null ? "" : $" (last: {reason})"));
                    _state = CircuitState.Open;
                    _openedAt = now;
                    _retryAt = now + _config.BreakDuration;
                }
            }
        }
        if (change is { } c)
        {
            StateChanged?.Invoke(this, c.From, c.To, c.Why);
        }
    }

    /// <summary>A snapshot for health reports.</summary>
    public UpstreamHealth Snapshot(string kind)
    {
        lock (_gate)
        {
            var (calls, failures) = WindowTotals(_time.GetUtcNow());
            return new UpstreamHealth(Upstream, kind, _state, _consecutive, calls, failures, _openedAt,
                _state == CircuitState.Closed ? null : _retryAt, _lastFailure);
        }
    }

    private int CurrentBucket(DateTimeOffset now)
    {
        var slot = now.UtcTicks / _bucketTicks;
        var index = (int)(slot % Buckets);
        if (_window[index].Start != slot)
        {
            _window[index] = (slot, 0, 0);
        }
        return index;
    }

    private (int Calls, int Failures) WindowTotals(DateTimeOffset now)
    {
        var oldest = now.UtcTicks / _bucketTicks - (Buckets - 1);
        int calls = 0, failures = 0;
        foreach (var (start, c, f) in _window)
        {
            if (start >= oldest)
            {
                calls += c;
                failures += f;
            }
        }
        return (calls, failures);
    }
}

/// <summary>Maps attempt results to <see cref="AttemptOutcome"/>.</summary>
public static class CircuitBreakers
{
    /// <summary>
    /// An answered attempt succeeds unless it was throttling or a server failure; an unanswered one fails unless it
    /// never reached the network for reasons of the gateway's own (credentials, an unsupported operation, a bad model id).
    /// </summary>
    public static AttemptOutcome Classify(int? status, string? errorType) => status switch
    {
        int s when s is 408 or 429 or >= 500 => AttemptOutcome.Failure,
        not null => AttemptOutcome.Success,
        null when errorType is "upstream_credentials" or "invalid_model" or "unsupported_operation" or "untranslatable_request" or "region_refused" => AttemptOutcome.Neutral,
        null when errorType is not null && errorType.StartsWith("beta_", StringComparison.Ordinal) => AttemptOutcome.Neutral,
        _ => AttemptOutcome.Failure,
    };
}
