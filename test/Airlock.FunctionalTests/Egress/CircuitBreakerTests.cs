using Airlock.Core.Configuration;
using Airlock.Gateway.Upstreams;
using Microsoft.Extensions.Time.Testing;

namespace Airlock.FunctionalTests.Egress;

public sealed class CircuitBreakerTests
{
    private static readonly CircuitBreakerConfig Config = new()
    {
        ConsecutiveFailures = 3, FailureRatio = 0.5, MinimumCalls = 6, Window = TimeSpan.FromSeconds(10), BreakDuration = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public void Consecutive_failures_open_the_circuit_until_the_break_ends_then_one_probe_decides()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-24T06:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var breaker = new CircuitBreaker("a", Config, time);
        var changes = new List<(CircuitState From, CircuitState To)>();
        breaker.StateChanged += (_, from, to, _) => changes.Add((from, to));

        for (var i = 0; i < 3; i++)
        {
            Assert.True(breaker.TryAcquire());
            breaker.Record(AttemptOutcome.Failure, "upstream_connection_refused");
        }

        Assert.Equal(CircuitState.Open, breaker.State);
        Assert.False(breaker.TryAcquire());
        Assert.Equal("upstream_connection_refused", breaker.Snapshot("messages").LastFailure);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(breaker.TryAcquire());  // the probe
        Assert.Equal(CircuitState.HalfOpen, breaker.State);
        Assert.False(breaker.TryAcquire()); // only one probe at a time
        breaker.Record(AttemptOutcome.Failure, "upstream_timeout");
        Assert.Equal(CircuitState.Open, breaker.State);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(breaker.TryAcquire());
        breaker.Record(AttemptOutcome.Success);
        Assert.Equal(CircuitState.Closed, breaker.State);
        Assert.Equal(
            [(CircuitState.Closed, CircuitState.Open), (CircuitState.Open, CircuitState.HalfOpen), (CircuitState.HalfOpen, CircuitState.Open),
             (CircuitState.Open, CircuitState.HalfOpen), (CircuitState.HalfOpen, CircuitState.Closed)],
            changes);
    }

    [Fact]
    public void Failure_ratio_over_the_window_opens_the_circuit_without_consecutive_failures()
    {
        var time = new FakeTimeProvider();
        var breaker = new CircuitBreaker("a", Config, time);
        // F S F S F S: never 3 in a row, but 3 of 6 failed.
        for (var i = 0; i < 5; i++)
        {
            breaker.Record(i % 2 == 0 ? AttemptOutcome.Failure : AttemptOutcome.Success);
            Assert.Equal(CircuitState.Closed, breaker.State);
        }
        breaker.Record(AttemptOutcome.Success);
        breaker.Record(AttemptOutcome.Failure);

        Assert.Equal(CircuitState.Open, breaker.State);
    }

    [Fact]
    public void Old_failures_leave_the_window_and_neutral_outcomes_do_not_count()
    {
        var time = new FakeTimeProvider();
        var breaker = new CircuitBreaker("a", Config with { ConsecutiveFailures = 100 }, time);
        for (var i = 0; i < 5; i++)
        {
            breaker.Record(AttemptOutcome.Failure);
        }
        time.Advance(TimeSpan.FromSeconds(11));
        breaker.Record(AttemptOutcome.Neutral);
        breaker.Record(AttemptOutcome.Failure);

        var health = breaker.Snapshot("bedrock");
        Assert.Equal(CircuitState.Closed, health.State);
        Assert.Equal(1, health.WindowCalls);
        Assert.Equal(1, health.WindowFailures);
    }

    [Fact]
    public void A_probe_that_never_reports_is_replaced_after_another_break()
    {
        var time = new FakeTimeProvider();
        var breaker = new CircuitBreaker("a", Config, time);
        for (var i = 0; i < 3; i++)
        {
            breaker.Record(AttemptOutcome.Failure);
        }
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(breaker.TryAcquire());
        Assert.False(breaker.TryAcquire());
        time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(breaker.TryAcquire());
    }

    [Theory]
    [InlineData(200, null, AttemptOutcome.Success)]
    [InlineData(400, null, AttemptOutcome.Success)]
    [InlineData(429, null, AttemptOutcome.Failure)]
    [InlineData(529, null, AttemptOutcome.Failure)]
    [InlineData(null, "upstream_connection_refused", AttemptOutcome.Failure)]
    [InlineData(null, "egress_refused", AttemptOutcome.Failure)]
    [InlineData(null, "upstream_credentials", AttemptOutcome.Neutral)]
    [InlineData(null, "region_refused", AttemptOutcome.Neutral)]
    public void Attempts_are_classified(int? status, string? errorType, AttemptOutcome expected) =>
        Assert.Equal(expected, CircuitBreakers.Classify(status, errorType));
}
