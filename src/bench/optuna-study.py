"""Optuna's RDBStorage on the same server, as `npm run bench -- study` compares mldb's study engine with it.

  optuna-study.py create URL STUDY          the study (outside the timing: schema and study row)
  optuna-study.py populate URL STUDY N SEED N completed trials at once, each with its ten values
  optuna-study.py work URL STUDY N SEED     one worker until the study has N finished trials
  optuna-study.py count URL STUDY           trials by state

URL is mysql+pymysql://user@host:port/db. Prints one JSON line. The objective is the trivial one
the bench gives mldb: two parameters, ten reported values, no training.
"""
import datetime
import json
import math
import random
import sys
import time

import optuna
import pymysql
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 1e-4, 1e-1, log=True)
    v = 0.0
    for step in range(1, 11):
        v = -((x - 0.7) ** 2) - 0.01 * (math.log10(y) + 2) ** 2 + 0.01 * step
        trial.report(v, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return v


def populate(url, name, n, seed):
    """The rows Optuna's add_trials writes (a trial, its params, value and intermediate values),
    through Optuna's own models, in one transaction per 500 trials: add_trials commits one trial
    at a time (61 ms each on the bench machine), too slow for 10,000."""
    from optuna.distributions import FloatDistribution, distribution_to_json
    from optuna.storages._rdb import models

    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name(name)
    dists = {"x": FloatDistribution(0.0, 1.0), "y": FloatDistribution(1e-4, 1e-1, log=True)}
    rng = random.Random(seed)
    now = datetime.datetime.now()
    done = 0
    while done < n:
        batch = min(500, n - done)
        with storage.scoped_session() as session:
            trials, drawn = [], []
            for i in range(batch):
                x = rng.random()
                y = math.exp(math.log(1e-4) + rng.random() * (math.log(1e-1) - math.log(1e-4)))
                t = models.TrialModel(
                    number=done + i, study_id=study_id, state=TrialState.COMPLETE,
                    datetime_start=now, datetime_complete=now,
                )
                trials.append(t)
                drawn.append((x, y))
            session.add_all(trials)
            session.flush()
            params, values, steps = [], [], []
            for t, (x, y) in zip(trials, drawn):
                for key, v in (("x", x), ("y", y)):
                    params.append({
                        "trial_id": t.trial_id, "param_name": key,
                        "param_value": dists[key].to_internal_repr(v),
                        "distribution_json": distribution_to_json(dists[key]),
                    })
                v = 0.0
                for step in range(1, 11):
                    v = -((x - 0.7) ** 2) - 0.01 * (math.log10(y) + 2) ** 2 + 0.01 * step
                    stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(v)
                    steps.append({
                        "trial_id": t.trial_id, "step": step,
                        "intermediate_value": stored, "intermediate_value_type": kind,
                    })
                stored, kind = models.TrialValueModel.value_to_stored_repr(v)
                values.append({"trial_id": t.trial_id, "objective": 0, "value": stored, "value_type": kind})
            session.bulk_insert_mappings(models.TrialParamModel, params)
            session.bulk_insert_mappings(models.TrialValueModel, values)
            session.bulk_insert_mappings(models.TrialIntermediateValueModel, steps)
            session.commit()
        done += batch
    # Read back through Optuna: every trial complete, with its ten values.
    trials = optuna.load_study(storage=url, study_name=name).get_trials(deepcopy=False)
    assert len(trials) == n and all(len(t.intermediate_values) == 10 for t in trials), "populate"
    print(json.dumps({"populated": n}))


def main():
    mode, url, name = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "create":
        rest = url.split("//", 1)[1]
        creds, hostpart = rest.split("@", 1)
        host, db = hostpart.split("/", 1)
        host, port = host.split(":")
        conn = pymysql.connect(host=host, port=int(port), user=creds.split(":")[0])
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        conn.close()
        optuna.create_study(storage=url, study_name=name, direction="maximize", load_if_exists=True)
        print(json.dumps({"created": name}))
        return
    if mode == "count":
        study = optuna.load_study(storage=url, study_name=name)
        counts = {}
        for t in study.get_trials(deepcopy=False):
            counts[t.state.name] = counts.get(t.state.name, 0) + 1
        print(json.dumps(counts))
        return
    n, seed = int(sys.argv[4]), int(sys.argv[5])
    if mode == "populate":
        populate(url, name, n, seed)
        return
    study = optuna.load_study(
        storage=url,
        study_name=name,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    ends = []
    started = time.time()
    study.optimize(
        objective,
        n_trials=n,
        callbacks=[
            MaxTrialsCallback(n, states=(TrialState.COMPLETE, TrialState.PRUNED)),
            lambda _study, _trial: ends.append(time.time() * 1000),
        ],
    )
    print(json.dumps({"start": started * 1000, "end": time.time() * 1000, "ends": ends}))


main()
