using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Airlock.Testing;

/// <summary>One entry a <see cref="RecordingLogger{T}"/> received, formatted as a sink would write it.</summary>
public sealed record LogEntry(LogLevel Level, EventId EventId, string Text);

/// <summary>A logger that keeps what it is given, so tests can check which events fired and that no secret reached a message.</summary>
/// <typeparam name="T">The logger's category.</typeparam>
public sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    /// <summary>Every entry so far, oldest first.</summary>
    public IReadOnlyCollection<LogEntry> Entries => _entries;

    /// <inheritdoc/>
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    /// <inheritdoc/>
    public bool IsEnabled(LogLevel logLevel) => true;

    /// <inheritdoc/>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception)));
    }
}
